"""tests/test_group_buy_after_success.py, unchanged, through the coordinator of the cluster."""

from tests.test_group_buy_after_success import *  # noqa: F403
