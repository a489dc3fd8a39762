"""tests/test_ledger_distribution.py, unchanged, through the coordinator of the cluster."""

from tests.test_ledger_distribution import *  # noqa: F403
