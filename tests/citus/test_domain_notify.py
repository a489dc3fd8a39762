"""tests/test_notify.py, unchanged, through the coordinator of the cluster."""

from tests.test_notify import *  # noqa: F403
