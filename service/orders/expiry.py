"""Unpaid orders of PREPAID tenants are cancelled once the tenant's payment window has passed."""

from __future__ import annotations

import logging
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.batches.tenant_scan import tenants_having
from service.db import tenant_transaction
from service.orders.models import UNPAID_PREDICATE, OrderStatus
from service.orders.release import cancel_orders

log = logging.getLogger(__name__)
BATCH_SIZE = 500


async def expire_tenant_orders(
    tenant_id: UUID, window_minutes: int, *, engine: AsyncEngine | None = None
) -> int:
    """Cancels this tenant's orders unpaid for longer than the window; returns how many."""
    total = 0
    while True:
        async with tenant_transaction(tenant_id, engine=engine) as session:
            ids = [
                r.id
                for r in (
                    await session.execute(
                        text(
                            "SELECT id FROM customer_order "
                            f"WHERE tenant_id = :t AND status = 'PENDING_PAYMENT' AND {UNPAID_PREDICATE} "
                            "AND created_at <= clock_timestamp() - make_interval(mins => :w) "
                            "ORDER BY id LIMIT :n"
                        ),
                        {"t": tenant_id, "w": window_minutes, "n": BATCH_SIZE},
                    )
                ).all()
            ]
            cancelled = await cancel_orders(
                session,
                tenant_id=tenant_id,
                order_ids=ids,
                from_statuses=[OrderStatus.PENDING_PAYMENT],
                reason="Not paid within the payment window",
            )
        total += len(cancelled)
        if len(ids) < BATCH_SIZE:
            return total


async def expire_unpaid_orders(tenant_id: UUID | None = None, *, engine: AsyncEngine | None = None) -> int:
    """Every PREPAID tenant (or one): idempotent, the state guard cancels each order once."""
    tenants = await tenants_having(
        "SELECT EXISTS (SELECT 1 FROM customer_order WHERE tenant_id = :t AND status = 'PENDING_PAYMENT' "
        f"AND {UNPAID_PREDICATE} "
        "AND created_at <= clock_timestamp() - make_interval(mins => (SELECT payment_window_minutes "
        "FROM tenant WHERE id = :t)))",
        {"only": str(tenant_id) if tenant_id else None},
        where_tenant="payment_mode = 'PREPAID' AND (CAST(:only AS uuid) IS NULL OR id = CAST(:only AS uuid))",
        engine=engine,
    )
    total = 0
    for t in tenants:
        async with tenant_transaction(None, engine=engine) as session:
            window = (
                await session.execute(
                    text("SELECT payment_window_minutes FROM tenant WHERE id = :t"), {"t": t}
                )
            ).scalar_one()
        total += await expire_tenant_orders(t, window, engine=engine)
    if total:
        log.info("expired %d unpaid orders", total)
    return total
