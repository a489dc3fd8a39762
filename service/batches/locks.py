"""The batch gate: who may change a batch's orders, and who must wait.

Placing or cancelling an order holds the batch's gate shared for its transaction; closing or
cancelling the batch takes it exclusively, first. It is a transaction-level advisory lock (a
heavyweight lock, queued fairly): once a close is waiting, new orders queue behind it instead of
starving it, which row locks (FOR SHARE) do not guarantee under a steady stream of orders.

Orders also lock the batch row FOR SHARE (at the start and in the commit-time cutoff trigger),
so a writer that UPDATEs the batch without the gate is still correct, only not protected from
starvation. Closers should call `close_gate` before they update the batch.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import get_settings

# The key: a 64-bit hash of the batch id (another batch sharing a key only waits a little more).
GATE_KEY_SQL = "hashtextextended(CAST(:gate_batch AS text), 0)"


# On Citus the gate is taken on the tenant's worker, where place_order() runs (delegated there)
# and takes it: a statement routed to the batch's shard, in this transaction's connection to it.
_ON_THE_SHARD = " FROM batch WHERE tenant_id = CAST(:gate_tenant AS uuid) AND id = CAST(:gate_batch AS uuid)"


async def _take(session: AsyncSession, function: str, batch_id: UUID) -> None:
    tenant_id = session.sync_session.info.get("tenant_id") if get_settings().citus else None
    if tenant_id is None:
        await session.execute(text(f"SELECT {function}({GATE_KEY_SQL})"), {"gate_batch": batch_id})
        return
    await session.execute(text(f"SELECT {function}({GATE_KEY_SQL}){_ON_THE_SHARD}"),
                          {"gate_batch": batch_id, "gate_tenant": tenant_id})


async def pass_gate(session: AsyncSession, batch_id: UUID) -> None:
    """Shared: many orders at once; waits while the batch is being closed or cancelled."""
    await _take(session, "pg_advisory_xact_lock_shared", batch_id)


async def close_gate(session: AsyncSession, batch_id: UUID) -> None:
    """Exclusive: waits for orders in flight, holds new ones back until this transaction ends."""
    await _take(session, "pg_advisory_xact_lock", batch_id)
