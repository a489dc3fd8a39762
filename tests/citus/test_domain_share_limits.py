"""tests/test_share_limits.py, unchanged, through the coordinator of the cluster."""

from tests.test_share_limits import *  # noqa: F403
