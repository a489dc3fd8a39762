"""tests/test_aftersales.py, unchanged, through the coordinator of the cluster."""

from tests.test_aftersales import *  # noqa: F403
