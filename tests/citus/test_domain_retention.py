"""tests/test_retention.py, unchanged, through the coordinator of the cluster."""

from tests.test_retention import *  # noqa: F403
