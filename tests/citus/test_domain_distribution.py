"""tests/test_distribution.py, unchanged, through the coordinator of the cluster."""

from tests.test_distribution import *  # noqa: F403
