"""tests/test_aftersales_compensation.py, unchanged, through the coordinator of the cluster."""

from tests.test_aftersales_compensation import *  # noqa: F403
