"""Closing batches on time and completing them once everything is picked up.

Due closes are found across tenants by a SECURITY DEFINER function that returns ids only (the
service's role sees one tenant at a time). Each close is requested once per retry interval, so
a close that is still running is not piled up, and one whose worker died is requested again.
"""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy import text

from service import jobs
from service.config import get_settings
from service.db import tenant_transaction
from service.procurement.close import CloseResult, close_batch

log = logging.getLogger(__name__)


async def close_now(tenant_id: UUID, batch_id: UUID) -> CloseResult | None:
    async with tenant_transaction(tenant_id) as session:
        return await close_batch(session, tenant_id=tenant_id, batch_id=batch_id)


async def close_due_batches() -> int:
    async with tenant_transaction(None) as session:
        due = (
            await session.execute(text("SELECT tenant_id, batch_id FROM request_due_batch_closes(:s)"),
                                  {"s": get_settings().close_retry_seconds})
        ).all()
    for row in due:
        try:
            jobs.enqueue("close_batch", tenant_id=row.tenant_id, batch_id=row.batch_id)
        except jobs.NoHandler:
            raise
        except Exception:  # noqa: BLE001 - broker down: the cutoff must not wait for it
            log.warning("broker unavailable; closing batch %s in the scheduler", row.batch_id, exc_info=True)
            await close_now(row.tenant_id, row.batch_id)
    return len(due)


async def complete_batches() -> int:
    """CLOSED -> COMPLETED once every order is picked up or cancelled, or the pickup window is over."""
    async with tenant_transaction(None) as session:
        done = (
            await session.execute(text("SELECT count(*) FROM complete_finished_batches(:days)"),
                                  {"days": get_settings().pickup_window_days})
        ).scalar_one()
    return int(done)
