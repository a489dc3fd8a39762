"""tests/test_growth_report.py, unchanged, through the coordinator of the cluster."""

from tests.test_growth_report import *  # noqa: F403
