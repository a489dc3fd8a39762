"""Demo batches and orders: an OPEN batch with four offers, a paid order, an unpaid one, and a
paid order its customer cancelled (so a refund and per-customer counters exist too)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import PaymentMode
from service.batches.opening import open_batches_in
from service.batches.operations import create_batch, publish_batch
from service.batches.validation import OfferSpec
from service.orders.cancellation import cancel_own_order
from service.orders.payment import mark_paid
from service.orders.placement import LineSpec, place_order
from service.tenants.principal import TenantInfo

if TYPE_CHECKING:
    from service.demo import DemoLogins

# (price, stock limit, per-customer limit, minimum group quantity) for the first products.
OFFERS = [("2.90", 200, 5, 10), ("19.90", 80, 2, 20), ("4.50", None, None, 1), ("29.90", 40, 1, 5)]


async def _tenant(session: AsyncSession, tenant_id: UUID) -> TenantInfo:
    row = (
        await session.execute(
            text(
                "SELECT id, slug, name, timezone, currency, payment_mode, default_commission_rate, "
                "payment_window_minutes FROM tenant WHERE id = :t"
            ),
            {"t": tenant_id},
        )
    ).one()
    return TenantInfo(
        id=row.id,
        slug=row.slug,
        name=row.name,
        timezone=row.timezone,
        currency=row.currency,
        payment_mode=PaymentMode(row.payment_mode),
        default_commission_rate=row.default_commission_rate,
        payment_window_minutes=row.payment_window_minutes,
    )


async def seed_batches(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    tenant = await _tenant(session, tenant_id)
    products = [
        r.id
        for r in await session.execute(
            text("SELECT id FROM product WHERE tenant_id = :t AND active ORDER BY created_at, id LIMIT 4"),
            {"t": tenant_id},
        )
    ]
    point = (
        await session.execute(
            text(
                "SELECT p.id FROM pickup_point p "
                "JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
                "WHERE p.tenant_id = :t AND p.active AND l.status = 'APPROVED' "
                "ORDER BY p.created_at, p.id LIMIT 1"
            ),
            {"t": tenant_id},
        )
    ).scalar_one_or_none()
    customer = (
        await session.execute(
            text(
                "SELECT u.id FROM app_user u "
                "JOIN group_member m ON m.tenant_id = u.tenant_id AND m.user_id = u.id "
                "WHERE u.tenant_id = :t ORDER BY m.joined_at LIMIT 1"
            ),
            {"t": tenant_id},
        )
    ).scalar_one_or_none()
    if not products or point is None or customer is None:
        return
    now = datetime.now(UTC)
    closes = (now + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    batch = await create_batch(
        session,
        tenant=tenant,
        title="本周社区团购 Weekly batch",
        opens_at=now - timedelta(hours=1),
        closes_at=closes,
        pickup_date=closes.astimezone(ZoneInfo(tenant.timezone)).date() + timedelta(days=1),
        offers=[
            OfferSpec(
                product_id=p, price=price, stock_limit=stock, per_customer_limit=per, min_group_quantity=m
            )
            for p, (price, stock, per, m) in zip(products, OFFERS, strict=False)
        ],
        created_by=None,
    )
    await publish_batch(session, tenant_id=tenant_id, batch_id=batch.id)
    await open_batches_in(session, tenant_id, [batch.id])
    offers = [
        r.id
        for r in await session.execute(
            text("SELECT id FROM offer WHERE batch_id = :b ORDER BY position"), {"b": batch.id}
        )
    ]

    async def order(lines: list[tuple[int, int]], key: str) -> UUID:
        placed = await place_order(
            session,
            tenant=tenant,
            customer_id=customer,
            batch_id=batch.id,
            pickup_point_id=point,
            lines=[LineSpec(offers[i], q) for i, q in lines if i < len(offers)],
            idempotency_key=key,
        )
        return placed.order_id

    paid = await order([(0, 3), (1, 1)], "demo-1")
    await order([(2, 2)], "demo-2")
    regretted = await order([(0, 1)], "demo-3")
    if tenant.payment_mode is PaymentMode.PREPAID:
        await mark_paid(session, tenant_id=tenant_id, order_id=paid, payment_reference="DEMO-PAY-0001")
        await mark_paid(session, tenant_id=tenant_id, order_id=regretted, payment_reference="DEMO-PAY-0002")
    await cancel_own_order(session, tenant_id=tenant_id, customer_id=customer, order_id=regretted)
