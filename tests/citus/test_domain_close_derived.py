"""tests/test_close_derived.py, unchanged, through the coordinator of the cluster."""

from tests.test_close_derived import *  # noqa: F403
