"""Actors. Each takes ids, is safe to run twice (its docstring says why), retries with back-off."""

from __future__ import annotations

import dramatiq


@dramatiq.actor(max_retries=0, time_limit=10_000)
def ping(token: str) -> None:
    """Liveness probe for the worker pool; has no effect, so running it twice is harmless."""
