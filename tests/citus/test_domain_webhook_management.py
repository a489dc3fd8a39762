"""tests/test_webhook_management.py, unchanged, through the coordinator of the cluster."""

from tests.test_webhook_management import *  # noqa: F403
