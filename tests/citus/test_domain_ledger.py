"""tests/test_ledger.py, unchanged, through the coordinator of the cluster."""

from tests.test_ledger import *  # noqa: F403
