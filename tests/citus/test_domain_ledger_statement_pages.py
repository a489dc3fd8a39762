"""tests/test_ledger_statement_pages.py, unchanged, through the coordinator of the cluster."""

from tests.test_ledger_statement_pages import *  # noqa: F403
