"""tests/test_reports.py, unchanged, through the coordinator of the cluster."""

from tests.test_reports import *  # noqa: F403
