"""tests/test_pickup_points.py, unchanged, through the coordinator of the cluster."""

from tests.test_pickup_points import *  # noqa: F403
