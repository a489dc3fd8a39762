"""tests/test_group_buy_notifications.py, unchanged, through the coordinator of the cluster."""

from tests.test_group_buy_notifications import *  # noqa: F403
