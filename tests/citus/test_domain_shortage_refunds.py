"""tests/test_shortage_refunds.py, unchanged, through the coordinator of the cluster."""

from tests.test_shortage_refunds import *  # noqa: F403
