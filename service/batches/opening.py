"""Opening batches at `opens_at`: by the scheduler's tick and by a delayed message sent at publish,
whichever comes first; the state guard (`WHERE status = 'SCHEDULED'`) makes the other a no-op."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.batches.tenant_scan import tenants_having
from service.db import tenant_transaction
from service.notify.outbox import emit

log = logging.getLogger(__name__)

_OPEN = text(
    "UPDATE batch SET status = 'OPEN', opened_at = statement_timestamp() "
    "WHERE tenant_id = :t AND id = ANY(:ids) AND status = 'SCHEDULED' AND opens_at <= statement_timestamp() "
    "RETURNING id, title"
)


async def open_batches(
    tenant_id: UUID, batch_ids: list[UUID], *, engine: AsyncEngine | None = None
) -> list[UUID]:
    """Opens those of `batch_ids` that are SCHEDULED and due; returns the ones this call opened."""
    if not batch_ids:
        return []
    async with tenant_transaction(tenant_id, engine=engine) as session:
        return await open_batches_in(session, tenant_id, batch_ids)


async def open_batches_in(session: AsyncSession, tenant_id: UUID, batch_ids: list[UUID]) -> list[UUID]:
    """The same, in the caller's transaction."""
    opened = (await session.execute(_OPEN, {"t": tenant_id, "ids": batch_ids})).all()
    for row in opened:
        await emit(
            session,
            tenant_id=tenant_id,
            event="BATCH_OPENED",
            subject_type="batch",
            subject_id=row.id,
            payload={"batchId": str(row.id), "title": row.title, "audience": ["customers"]},
        )
    return [row.id for row in opened]


async def open_batch(tenant_id: UUID, batch_id: UUID, *, engine: AsyncEngine | None = None) -> bool:
    return bool(await open_batches(tenant_id, [batch_id], engine=engine))


# Delayed messages wait in the broker and the workers' memory: long delays are sent in steps of
# at most this, each step re-sending the message for the rest of the wait.
MAX_MESSAGE_DELAY_SECONDS = 3600


async def seconds_until_opening(
    tenant_id: UUID, batch_id: UUID, *, engine: AsyncEngine | None = None
) -> float | None:
    """How long until a SCHEDULED batch is due to open; None when it is not SCHEDULED."""
    async with tenant_transaction(tenant_id, engine=engine) as session:
        wait = (
            await session.execute(
                text(
                    "SELECT extract(epoch FROM opens_at - clock_timestamp()) FROM batch "
                    "WHERE tenant_id = :t AND id = :b AND status = 'SCHEDULED'"
                ),
                {"t": tenant_id, "b": batch_id},
            )
        ).scalar_one_or_none()
    return None if wait is None else max(float(wait), 0.0)


async def open_due_batches(*, engine: AsyncEngine | None = None) -> int:
    """Every tenant's due SCHEDULED batches, one transaction per tenant that has any."""
    total = 0
    for tenant_id in await tenants_having(_HAS_DUE, engine=engine):
        async with tenant_transaction(tenant_id, engine=engine) as session:
            due = (await session.execute(text(_DUE), {"t": tenant_id})).scalars().all()
            total += len(await open_batches_in(session, tenant_id, list(due)))
    if total:
        log.info("opened %d batches", total)
    return total


_DUE = "SELECT id FROM batch WHERE tenant_id = :t AND status = 'SCHEDULED' AND opens_at <= clock_timestamp()"
_HAS_DUE = f"SELECT EXISTS ({_DUE})"
