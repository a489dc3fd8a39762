"""tests/test_coupon_report_csv.py, unchanged, through the coordinator of the cluster."""

from tests.test_coupon_report_csv import *  # noqa: F403
