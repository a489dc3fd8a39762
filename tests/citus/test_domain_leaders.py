"""tests/test_leaders.py, unchanged, through the coordinator of the cluster."""

from tests.test_leaders import *  # noqa: F403
