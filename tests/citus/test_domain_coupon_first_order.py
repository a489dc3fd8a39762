"""tests/test_coupon_first_order.py, unchanged, through the coordinator of the cluster."""

from tests.test_coupon_first_order import *  # noqa: F403
