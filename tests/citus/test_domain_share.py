"""tests/test_share.py, unchanged, through the coordinator of the cluster."""

from tests.test_share import *  # noqa: F403
