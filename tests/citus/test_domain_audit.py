"""tests/test_audit.py, unchanged, through the coordinator of the cluster."""

from tests.test_audit import *  # noqa: F403
