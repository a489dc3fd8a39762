"""tests/test_console_operations.py, unchanged, through the coordinator of the cluster."""

from tests.test_console_operations import *  # noqa: F403
