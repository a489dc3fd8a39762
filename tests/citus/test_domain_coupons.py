"""tests/test_coupons.py, unchanged, through the coordinator of the cluster."""

from tests.test_coupons import *  # noqa: F403
