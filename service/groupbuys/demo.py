"""Demo 拼团: the open demo batch's last offer forms groups of 2, and the demo customer started one."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.batches.demo import _tenant
from service.groupbuys.payment import after_paid, lock_group
from service.orders.placement import LineSpec, place_order

_OFFER = text("""
SELECT f.id, f.batch_id FROM offer f JOIN batch b ON b.tenant_id = f.tenant_id AND b.id = f.batch_id
WHERE f.tenant_id = :t AND b.status = 'OPEN' ORDER BY b.created_at, f.position DESC LIMIT 1
""")
_CUSTOMER = text("""
SELECT o.customer_id, o.pickup_point_id FROM customer_order o WHERE o.tenant_id = :t AND o.batch_id = :b
ORDER BY o.created_at LIMIT 1
""")


async def seed_group_buys(session: AsyncSession, tenant_id: UUID, logins: Any) -> None:
    offer = (await session.execute(_OFFER, {"t": tenant_id})).first()
    if offer is None:
        return
    who = (await session.execute(_CUSTOMER, {"t": tenant_id, "b": offer.batch_id})).first()
    if who is None:
        return
    await session.execute(text("UPDATE offer SET group_size = 2, group_window_minutes = 1440, "
                               "group_expiry = 'REFUND' WHERE id = :o"), {"o": offer.id})
    tenant = await _tenant(session, tenant_id)
    placed = await place_order(session, tenant=tenant, customer_id=who.customer_id, batch_id=offer.batch_id,
                               pickup_point_id=who.pickup_point_id, lines=[LineSpec(offer.id, 1)],
                               idempotency_key="demo-group-1")
    await session.execute(text("SELECT group_buy_join(:t, :o, NULL, :h)"),
                          {"t": tenant_id, "o": placed.order_id, "h": tenant.payment_window_minutes})
    await lock_group(session, tenant_id=tenant_id, order_id=placed.order_id)
    await session.execute(text("UPDATE customer_order SET status = 'PAID', payment_reference = 'DEMO-PAY-G001', "
                               "paid_at = statement_timestamp() WHERE tenant_id = :t AND id = :o "
                               "AND status = 'PENDING_PAYMENT'"),
                          {"t": tenant_id, "o": placed.order_id})
    await after_paid(session, tenant_id=tenant_id, order_id=placed.order_id)
