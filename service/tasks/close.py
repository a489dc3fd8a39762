"""The close actor."""

from __future__ import annotations

from uuid import UUID

import dramatiq

from service.procurement.scheduling import close_now
from service.tasks import broker  # noqa: F401  (before any actor is declared)


@dramatiq.actor(queue_name="close", max_retries=20, min_backoff=1_000, max_backoff=60_000,
                time_limit=30 * 60 * 1000)
async def close_batch_actor(tenant_id: str, batch_id: str) -> None:
    """Closes one batch. Safe to run twice or concurrently: the close acts only on an OPEN batch
    whose row it locks, in one transaction, so a second run finds it CLOSED and does nothing,
    and a run killed half-way leaves nothing behind."""
    await close_now(UUID(tenant_id), UUID(batch_id))
