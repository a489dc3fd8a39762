"""tests/test_group_buy.py, unchanged, through the coordinator of the cluster."""

from tests.test_group_buy import *  # noqa: F403
