"""tests/test_auth.py, unchanged, through the coordinator of the cluster."""

from tests.test_auth import *  # noqa: F403
