"""tests/test_shortage_shipping.py, unchanged, through the coordinator of the cluster."""

from tests.test_shortage_shipping import *  # noqa: F403
