"""tests/test_counter.py, unchanged, through the coordinator of the cluster."""

from tests.test_counter import *  # noqa: F403
