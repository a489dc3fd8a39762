"""tests/test_shortage_receiving.py, unchanged, through the coordinator of the cluster."""

from tests.test_shortage_receiving import *  # noqa: F403
