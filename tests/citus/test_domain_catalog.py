"""tests/test_catalog.py, unchanged, through the coordinator of the cluster."""

from tests.test_catalog import *  # noqa: F403
