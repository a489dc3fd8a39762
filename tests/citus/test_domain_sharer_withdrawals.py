"""tests/test_sharer_withdrawals.py, unchanged, through the coordinator of the cluster."""

from tests.test_sharer_withdrawals import *  # noqa: F403
