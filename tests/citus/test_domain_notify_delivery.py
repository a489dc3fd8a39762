"""tests/test_notify_delivery.py, unchanged, through the coordinator of the cluster."""

from tests.test_notify_delivery import *  # noqa: F403
