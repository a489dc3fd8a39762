"""tests/test_batches.py, unchanged, through the coordinator of the cluster."""

from tests.test_batches import *  # noqa: F403
