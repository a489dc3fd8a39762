"""tests/test_ledger_today.py, unchanged, through the coordinator of the cluster."""

from tests.test_ledger_today import *  # noqa: F403
