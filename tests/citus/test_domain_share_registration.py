"""tests/test_share_registration.py, unchanged, through the coordinator of the cluster."""

from tests.test_share_registration import *  # noqa: F403
