"""tests/test_after_close.py, unchanged, through the coordinator of the cluster."""

from tests.test_after_close import *  # noqa: F403
