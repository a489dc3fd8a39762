"""tests/test_shortage_report.py, unchanged, through the coordinator of the cluster."""

from tests.test_shortage_report import *  # noqa: F403
