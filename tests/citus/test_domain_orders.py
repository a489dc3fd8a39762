"""tests/test_orders.py, unchanged, through the coordinator of the cluster."""

from tests.test_orders import *  # noqa: F403
