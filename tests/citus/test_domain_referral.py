"""tests/test_referral.py, unchanged, through the coordinator of the cluster."""

from tests.test_referral import *  # noqa: F403
