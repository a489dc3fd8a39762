"""Two-level distribution commissions: pending at the close, earned at pickup, reversed on refund.

The referrer chain of an order is the one snapshotted on it (order_referral, orders placed with a
share code) or, for every other order, the customer's binding in force when the order was placed
(bound_at <= created_at < superseded_at), read back from the binding history at the close: plain
orders keep their placement path untouched, and a later rebind still changes nothing placed.

Per line and level: a fixed amount per unit x quantity when the offer sets one, else
round_half_up(rate x quantity x unit price) with the offer's rate or the tenant's, less the line's
coupon share where the tenant's commission_base is COMMISSION_ON_PAID (as leader commissions); summed
per order and level. Refunds take back exactly the refunded lines' amounts.

Orders of 拼团 (a group_buy_member row) and with a coupon (a `coupon_id`) earn only when the tenant
says so; those columns belong to other features, so they are read through to_jsonb(order) and an
order without them is neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_WRITE_PENDING_LINES = text("""
WITH orders AS (
  SELECT o.tenant_id, o.id, o.customer_id, o.created_at
  FROM customer_order o JOIN tenant t ON t.id = o.tenant_id
  WHERE o.tenant_id = :t AND o.batch_id = :b AND o.status IN ('PAID', 'PLACED', 'READY_FOR_PICKUP', 'PICKED_UP')
    AND t.distribution_enabled
    AND (t.distribution_group_buy_orders OR NOT EXISTS (
           SELECT 1 FROM group_buy_member m WHERE m.tenant_id = :t AND m.order_id = o.id))
    AND (t.distribution_coupon_orders OR o.coupon_id IS NULL)
), chain AS (
  SELECT r.order_id, r.level, r.referrer_id
  FROM order_referral r JOIN orders o ON r.tenant_id = o.tenant_id AND r.order_id = o.id
  WHERE r.tenant_id = :t
  UNION ALL
  SELECT o.id, 1, b1.referrer_id
  FROM orders o JOIN referral_binding b1 ON b1.tenant_id = o.tenant_id AND b1.customer_id = o.customer_id
   AND b1.bound_at <= o.created_at AND (b1.superseded_at IS NULL OR b1.superseded_at > o.created_at)
  WHERE b1.tenant_id = :t
    AND NOT EXISTS (SELECT 1 FROM order_referral r WHERE r.tenant_id = :t AND r.order_id = o.id)
  UNION ALL
  SELECT o.id, 2, b2.referrer_id
  FROM orders o JOIN referral_binding b1 ON b1.tenant_id = o.tenant_id AND b1.customer_id = o.customer_id
   AND b1.bound_at <= o.created_at AND (b1.superseded_at IS NULL OR b1.superseded_at > o.created_at)
  JOIN referral_binding b2 ON b2.tenant_id = o.tenant_id AND b2.customer_id = b1.referrer_id
   AND b2.bound_at <= o.created_at AND (b2.superseded_at IS NULL OR b2.superseded_at > o.created_at)
  WHERE b1.tenant_id = :t AND b2.tenant_id = :t AND b2.referrer_id <> o.customer_id
    AND NOT EXISTS (SELECT 1 FROM order_referral r WHERE r.tenant_id = :t AND r.order_id = o.id)
)
SELECT c.order_id, c.level, c.referrer_id, l.id AS line_id,
       CASE WHEN c.level = 1 AND d.level1_amount_minor IS NOT NULL THEN d.level1_amount_minor * l.quantity
            WHEN c.level = 2 AND d.level2_amount_minor IS NOT NULL THEN d.level2_amount_minor * l.quantity
            ELSE round(CASE WHEN c.level = 1 THEN coalesce(d.level1_rate, t.distribution_level1_rate)
                            ELSE coalesce(d.level2_rate, t.distribution_level2_rate) END
                       * (l.quantity * l.unit_price_minor
                          - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID' THEN l.discount_minor ELSE 0 END))
       END::bigint AS amount_minor
FROM chain c
JOIN order_line l ON l.tenant_id = :t AND l.order_id = c.order_id AND l.status = 'ACTIVE'
JOIN tenant t ON t.id = :t
LEFT JOIN offer_distribution d ON d.tenant_id = l.tenant_id AND d.offer_id = l.offer_id AND d.tenant_id = :t
WHERE c.level IN (1, 2)
""")

_INSERT_ENTRIES = text("""
INSERT INTO distribution_commission (tenant_id, id, order_id, batch_id, level, beneficiary_id, customer_id,
                                     currency, amount_minor, status, created_at)
SELECT o.tenant_id, gen_random_uuid(), o.id, o.batch_id, x.level, x.beneficiary, o.customer_id, o.currency,
       x.amount, 'PENDING', b.closed_at
FROM unnest(CAST(:orders AS uuid[]), CAST(:levels AS int[]), CAST(:beneficiaries AS uuid[]),
            CAST(:amounts AS bigint[])) AS x(order_id, level, beneficiary, amount)
JOIN customer_order o ON o.tenant_id = :t AND o.id = x.order_id
JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id AND b.tenant_id = :t
ON CONFLICT (tenant_id, order_id, level) DO NOTHING
""")

_INSERT_LINES = text("""
INSERT INTO distribution_commission_line (tenant_id, order_line_id, level, order_id, amount_minor)
SELECT :t, x.line_id, x.level, x.order_id, x.amount
FROM unnest(CAST(:lines AS uuid[]), CAST(:levels AS int[]), CAST(:orders AS uuid[]),
            CAST(:amounts AS bigint[])) AS x(line_id, level, order_id, amount)
ON CONFLICT (tenant_id, order_line_id, level) DO NOTHING
""")


async def write_pending(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID) -> int:
    """At the close, in its transaction: a PENDING commission per confirmed order and level that
    has a referrer and earns something. Running it twice writes nothing more. Returns the rows."""
    rows = (await session.execute(_WRITE_PENDING_LINES, {"t": tenant_id, "b": batch_id})).all()
    totals: dict[tuple[UUID, int], tuple[UUID, int]] = {}
    for row in rows:
        key = (row.order_id, int(row.level))
        beneficiary, amount = totals.get(key, (row.referrer_id, 0))
        totals[key] = (beneficiary, amount + int(row.amount_minor))
    earning = {key: value for key, value in totals.items() if value[1] > 0}
    if not earning:
        return 0
    keys = list(earning)
    await session.execute(_INSERT_ENTRIES, {
        "t": tenant_id, "orders": [k[0] for k in keys], "levels": [k[1] for k in keys],
        "beneficiaries": [earning[k][0] for k in keys], "amounts": [earning[k][1] for k in keys]})
    kept = [r for r in rows if (r.order_id, int(r.level)) in earning]
    await session.execute(_INSERT_LINES, {
        "t": tenant_id, "lines": [r.line_id for r in kept], "levels": [int(r.level) for r in kept],
        "orders": [r.order_id for r in kept], "amounts": [int(r.amount_minor) for r in kept]})
    return len(keys)


async def earn(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """At pickup: PENDING -> EARNED (a state guard: a second pickup earns nothing more)."""
    await session.execute(
        text("UPDATE distribution_commission SET status = 'EARNED', earned_at = statement_timestamp() "
             "WHERE tenant_id = :t AND order_id = :o AND status = 'PENDING' AND amount_minor > 0"),
        {"t": tenant_id, "o": order_id})


async def reverse_for_lines(session: AsyncSession, *, tenant_id: UUID, order_id: UUID,
                            line_ids: Sequence[UUID]) -> None:
    """On a refund of whole lines: each level gives back what those lines earned it, as
    commission_entry does (EARNED -> REVERSED; PENDING shrinks, REVERSED when nothing is left)."""
    await session.execute(text("""
WITH part AS (
  SELECT level, sum(amount_minor)::bigint AS amount FROM distribution_commission_line
  WHERE tenant_id = :t AND order_id = :o AND order_line_id = ANY(:ids) GROUP BY level
)
UPDATE distribution_commission c
SET amount_minor = c.amount_minor - least(part.amount, c.amount_minor),
    reversed_minor = c.reversed_minor + least(part.amount, c.amount_minor),
    status = CASE WHEN c.status = 'EARNED' OR c.amount_minor <= part.amount THEN 'REVERSED' ELSE c.status END,
    reversed_at = statement_timestamp()
FROM part
WHERE c.tenant_id = :t AND c.order_id = :o AND c.level = part.level AND part.amount > 0
"""), {"t": tenant_id, "o": order_id, "ids": list(line_ids)})


_REVERSE_REFUNDED = text("""
WITH target AS (
  SELECT dl.order_id, dl.level,
         sum(dl.amount_minor
             - round(dl.amount_minor * (l.quantity - l.refunded_quantity)::numeric / l.quantity))::bigint AS reversed
    FROM distribution_commission_line dl
    JOIN order_line l ON l.tenant_id = dl.tenant_id AND l.id = dl.order_line_id AND l.tenant_id = :t
   WHERE dl.tenant_id = :t AND dl.order_id = ANY(:orders)
   GROUP BY dl.order_id, dl.level
)
UPDATE distribution_commission c
SET amount_minor = c.amount_minor + c.reversed_minor - t.reversed,
    reversed_minor = t.reversed,
    status = CASE WHEN c.status = 'EARNED' OR c.amount_minor + c.reversed_minor <= t.reversed THEN 'REVERSED'
                  ELSE c.status END,
    reversed_at = statement_timestamp()
FROM target t
WHERE c.tenant_id = :t AND c.order_id = t.order_id AND c.level = t.level AND t.reversed > c.reversed_minor
""")


async def reverse_refunded(session: AsyncSession, *, tenant_id: UUID, order_ids: Sequence[UUID]) -> None:
    """After refunds by quantity (orderLinesRefund, after-sales, shortages): each level keeps what
    the units not refunded earned it, each line's share rounded half-up once. Derived from the
    lines' refunded quantities, so running it again changes nothing."""
    if order_ids:
        await session.execute(_REVERSE_REFUNDED, {"t": tenant_id, "orders": list(order_ids)})
