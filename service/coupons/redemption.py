"""A coupon after its order's placement (coupon_apply(), called by place_order_extras() in the
order's own statement): consumed at payment, released when the order goes (cancelled, expired
unpaid, or refunded whole where the tenant says so)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_CONSUME = text(
    "WITH used AS (UPDATE coupon SET status = 'USED', used_at = statement_timestamp() "
    "  WHERE tenant_id = :t AND order_id = :o AND status = 'RESERVED' RETURNING template_id) "
    "UPDATE coupon_template c SET used = c.used + 1 FROM used WHERE c.tenant_id = :t AND c.id = used.template_id"
)

# Locked in coupon-id order; what each gave back is returned, so the templates follow in their order.
_RELEASE = text(
    "WITH old AS (SELECT id, template_id, status, discount_minor FROM coupon "
    "  WHERE tenant_id = :t AND order_id = ANY(:ids) AND status IN ('RESERVED', 'USED') ORDER BY id FOR UPDATE), "
    "freed AS (UPDATE coupon c SET status = 'AVAILABLE', order_id = NULL, discount_minor = 0, used_at = NULL "
    "  FROM old WHERE c.tenant_id = :t AND c.id = old.id RETURNING old.template_id, old.status, old.discount_minor) "
    "SELECT template_id, sum(discount_minor)::bigint AS discount, "
    "  count(*) FILTER (WHERE status = 'USED') AS used, count(*) AS n "
    "FROM freed GROUP BY template_id ORDER BY template_id"
)
_GIVE_BACK = text(
    "UPDATE coupon_template SET discount_given_minor = discount_given_minor - :d, used = used - :u "
    "WHERE tenant_id = :t AND id = :tpl"
)


async def consume_for_order(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """The order was paid: its coupon is USED (a state guard: paying twice consumes once)."""
    await session.execute(_CONSUME, {"t": tenant_id, "o": order_id})


async def release_for_orders(session: AsyncSession, *, tenant_id: UUID, order_ids: Sequence[UUID],
                             refund: bool = False) -> int:
    """The orders' coupons become AVAILABLE again (usable if still valid) and their discounts go
    back to the budgets. `refund`: the orders were refunded whole, which releases only where the
    tenant's coupon_release_on_refund says so. Returns how many were released."""
    if not order_ids:
        return 0
    if refund and not (await session.execute(
            text("SELECT coupon_release_on_refund FROM tenant WHERE id = :t"), {"t": tenant_id})).scalar_one():
        return 0
    rows = (await session.execute(_RELEASE, {"t": tenant_id, "ids": list(order_ids)})).all()
    for row in rows:
        await session.execute(_GIVE_BACK, {"t": tenant_id, "tpl": row.template_id, "d": row.discount, "u": row.used})
    return sum(int(r.n) for r in rows)


async def release_for_cancelled(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID) -> int:
    """The close cancelled orders of this batch (unpaid, or emptied below minimums): their coupons."""
    ids = (await session.execute(
        text("SELECT c.order_id FROM coupon c JOIN customer_order o ON o.tenant_id = c.tenant_id AND o.id = c.order_id "
             "WHERE c.tenant_id = :t AND o.batch_id = :b AND o.status = 'CANCELLED' "
             "AND c.status IN ('RESERVED', 'USED')"), {"t": tenant_id, "b": batch_id})).scalars().all()
    return await release_for_orders(session, tenant_id=tenant_id, order_ids=list(ids))
