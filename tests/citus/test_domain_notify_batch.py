"""tests/test_notify_batch.py, unchanged, through the coordinator of the cluster."""

from tests.test_notify_batch import *  # noqa: F403
