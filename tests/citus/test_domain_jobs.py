"""tests/test_jobs.py, unchanged, through the coordinator of the cluster."""

from tests.test_jobs import *  # noqa: F403
