"""Demo: last week's batch, already through the close — purchase orders, pick lists,
commissions (one earned at pickup), a refund for an offer that missed its minimum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import PaymentMode
from service.batches.demo import _tenant
from service.batches.opening import open_batches_in
from service.batches.operations import create_batch, publish_batch
from service.batches.validation import OfferSpec
from service.orders.payment import mark_paid
from service.orders.placement import LineSpec, place_order
from service.procurement.close import close_batch
from service.procurement.commissions import earn_commission
from service.procurement.operations import receive_delivery

if TYPE_CHECKING:
    from service.demo import DemoLogins

# (price, minimum group quantity): the last one misses its minimum and is refunded.
LAST_WEEK = [("3.20", 1), ("15.80", 2), ("8.00", 50)]
LAST_WEEK_KEY = "demo-last-week-"


async def seed_last_week_orders(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    """Last week's batch, still open, with its orders: they must commit before it closes (the
    seeds' transaction ends after this one), since their cutoff check runs at commit."""
    tenant = await _tenant(session, tenant_id)
    products = (await session.execute(
        text("SELECT id FROM product WHERE active ORDER BY created_at, id LIMIT 3"))).scalars().all()
    point = (await session.execute(text(
        "SELECT p.id FROM pickup_point p JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
        "WHERE p.active AND l.status = 'APPROVED' ORDER BY p.created_at, p.id LIMIT 1"))).scalar_one_or_none()
    customers = (await session.execute(text(
        "SELECT id FROM app_user WHERE kind = 'CUSTOMER' AND NOT EXISTS "
        "(SELECT 1 FROM leader l WHERE l.tenant_id = app_user.tenant_id AND l.user_id = app_user.id) "
        "ORDER BY created_at LIMIT 2"))).scalars().all()
    if len(products) < 3 or point is None or not customers:
        return
    now = datetime.now(UTC)
    batch = await create_batch(
        session, tenant=tenant, title="上周社区团购 Last week's batch",
        opens_at=now - timedelta(days=8), closes_at=now + timedelta(hours=1),
        pickup_date=(now + timedelta(days=1)).astimezone(ZoneInfo(tenant.timezone)).date(),
        offers=[OfferSpec(product_id=p, price=price, stock_limit=None, per_customer_limit=None,
                          min_group_quantity=minimum) for p, (price, minimum) in zip(products, LAST_WEEK, strict=True)],
        created_by=None,
    )
    await publish_batch(session, tenant_id=tenant_id, batch_id=batch.id)
    await open_batches_in(session, tenant_id, [batch.id])
    offers = (await session.execute(text("SELECT id FROM offer WHERE batch_id = :b ORDER BY position"),
                                    {"b": batch.id})).scalars().all()
    for n, customer in enumerate(customers):
        placed = await place_order(session, tenant=tenant, customer_id=customer, batch_id=batch.id,
                                   pickup_point_id=point, idempotency_key=f"{LAST_WEEK_KEY}{n}",
                                   lines=[LineSpec(offers[0], 2 + n), LineSpec(offers[1], 1), LineSpec(offers[2], 1)])
        if tenant.payment_mode is PaymentMode.PREPAID:
            await mark_paid(session, tenant_id=tenant_id, order_id=placed.order_id,
                            payment_reference=f"DEMO-LAST-WEEK-{n}")


async def seed_closed_batch(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    """Last week's batch through the close, in the transaction after its orders committed."""
    orders = (await session.execute(text(
        "SELECT id, batch_id, pickup_point_id FROM customer_order WHERE idempotency_key LIKE :key "
        "ORDER BY idempotency_key"), {"key": f"{LAST_WEEK_KEY}%"})).all()
    if not orders:
        return
    batch_id, point = orders[0].batch_id, orders[0].pickup_point_id
    await close_batch(session, tenant_id=tenant_id, batch_id=batch_id)
    # As if the cutoff had been a week ago.
    await session.execute(
        text("UPDATE batch SET opens_at = opens_at, closes_at = closed_at WHERE tenant_id = :t AND id = :b"),
        {"t": tenant_id, "b": batch_id})
    await receive_delivery(session, tenant_id=tenant_id, batch_id=batch_id, pickup_point_id=point)
    picked = orders[0].id
    await session.execute(text("UPDATE customer_order SET status = 'PICKED_UP', picked_up_at = statement_timestamp() "
                               "WHERE tenant_id = :t AND id = :o"), {"t": tenant_id, "o": picked})
    await earn_commission(session, tenant_id=tenant_id, order_id=picked)
