"""tests/test_order_groups.py, unchanged, through the coordinator of the cluster."""

from tests.test_order_groups import *  # noqa: F403
