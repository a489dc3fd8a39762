"""tests/test_growth_isolation.py, unchanged, through the coordinator of the cluster."""

from tests.test_growth_isolation import *  # noqa: F403
