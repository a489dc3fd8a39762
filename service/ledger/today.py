"""A leader's day at their pickup points: the orders placed today (the tenant's local date),
their goods value and the commission they are expected to pay the leader.

Counted: orders that pay commission (paid or confirmed, picked up or not); not those waiting
for payment or cancelled. Goods value: the active lines' units not refunded x unit price.
Expected commission: the order's commission as written down (after refunds) when it is, else as
the close will write it: rate x (goods - the line's discount when the tenant pays commission on
what was paid), rounded half-up once per line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TODAY = text("""
WITH day AS (
  SELECT (CAST(:d AS date)::timestamp AT TIME ZONE :tz) AS starts,
         ((CAST(:d AS date) + 1)::timestamp AT TIME ZONE :tz) AS ends
), orders AS (
  SELECT o.id, o.pickup_point_id, o.commission_rate
  FROM pickup_point p
  JOIN customer_order o ON o.tenant_id = p.tenant_id AND o.pickup_point_id = p.id
  CROSS JOIN day
  WHERE p.leader_id = :l AND o.created_at >= day.starts AND o.created_at < day.ends
    AND o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP', 'PICKED_UP')
), per_order AS (
  SELECT o.id, o.pickup_point_id,
         coalesce(sum((l.quantity - l.refunded_quantity) * l.unit_price_minor), 0)::bigint AS goods,
         coalesce(min(c.amount_minor),
                  sum(round(o.commission_rate * ((l.quantity - l.refunded_quantity) * l.unit_price_minor
                            - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                              THEN l.discount_minor - l.discount_minor * l.refunded_quantity / l.quantity
                              ELSE 0 END))), 0)::bigint AS commission
  FROM orders o
  JOIN tenant t ON t.id = :t
  LEFT JOIN order_line l ON l.tenant_id = :t AND l.order_id = o.id AND l.status = 'ACTIVE'
  LEFT JOIN commission_entry c ON c.tenant_id = :t AND c.order_id = o.id
  GROUP BY o.id, o.pickup_point_id
)
SELECT pickup_point_id, count(*) AS orders, sum(goods)::bigint AS goods, sum(commission)::bigint AS commission
FROM per_order GROUP BY pickup_point_id ORDER BY pickup_point_id
""")


@dataclass(frozen=True)
class PointDay:
    pickup_point_id: UUID
    orders: int
    goods_minor: int
    commission_minor: int


async def leader_day(session: AsyncSession, *, tenant_id: UUID, leader_id: UUID, day: date,
                     tz: str) -> list[PointDay]:
    """Per pickup point of the leader with orders that day."""
    rows = (await session.execute(_TODAY, {"t": tenant_id, "l": leader_id, "d": day, "tz": tz})).all()
    return [PointDay(r.pickup_point_id, int(r.orders), int(r.goods), int(r.commission)) for r in rows]
