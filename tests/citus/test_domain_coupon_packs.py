"""tests/test_coupon_packs.py, unchanged, through the coordinator of the cluster."""

from tests.test_coupon_packs import *  # noqa: F403
