"""tests/test_email_deliveries.py, unchanged, through the coordinator of the cluster."""

from tests.test_email_deliveries import *  # noqa: F403
