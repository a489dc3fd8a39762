"""tests/test_stock_slots.py, unchanged, through the coordinator of the cluster."""

from tests.test_stock_slots import *  # noqa: F403
