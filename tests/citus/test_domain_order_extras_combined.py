"""tests/test_order_extras_combined.py, unchanged, through the coordinator of the cluster."""

from tests.test_order_extras_combined import *  # noqa: F403
