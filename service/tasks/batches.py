"""The batch-opening actor. Like every actor: takes ids, is safe to run twice (its docstring says
why), retries with back-off."""

from __future__ import annotations

from uuid import UUID

import dramatiq

from service.batches.opening import MAX_MESSAGE_DELAY_SECONDS, seconds_until_opening
from service.batches.opening import open_batch as open_one
from service.tasks import broker  # noqa: F401  (before any actor is declared)


@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000, time_limit=60_000)
async def open_batch(tenant_id: str, batch_id: str) -> None:
    """Sent with a delay at publish to open the batch at opensAt. Safe twice and in a race with
    the scheduler: only a SCHEDULED batch whose opensAt has passed is opened."""
    if await open_one(UUID(tenant_id), UUID(batch_id)):
        return
    wait = await seconds_until_opening(UUID(tenant_id), UUID(batch_id))
    if wait:  # still SCHEDULED and early (a long delay is sent in steps): wait the rest
        delay = int(min(wait, MAX_MESSAGE_DELAY_SECONDS) * 1000) + 50
        open_batch.send_with_options(args=(tenant_id, batch_id), delay=delay)
