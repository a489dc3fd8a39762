"""tests/test_webhook_retry.py, unchanged, through the coordinator of the cluster."""

from tests.test_webhook_retry import *  # noqa: F403
