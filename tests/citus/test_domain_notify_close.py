"""tests/test_notify_close.py, unchanged, through the coordinator of the cluster."""

from tests.test_notify_close import *  # noqa: F403
