"""Commissions after the close: earned at pickup, reversed (fully or in part) by refunds.

A confirmed order's commission is derived (view `commission`, migration 0010) until it changes
state: then it is written down in commission_entry, with the derived one's id (the order's id),
amount (rate x the lines the close confirmed, rounded half-up per line) and creation time (the
close), and changed there.

A refund of q units of a line holding q_before (not yet refunded) takes back, for that line,
round_half_up(rate x q_before x price) - round_half_up(rate x (q_before - q) x price): the same
per-line rounding the close used, so however a line is split over refunds a commission is always
exactly the sum over its lines of round_half_up(rate x units not refunded x price). That rule runs
set-based in refund_line_quantities() (service/aftersales/sql/), the one path of every refund
(orderLinesRefund, orderRefund, shortages, damaged goods, after-sales), as an UPDATE of
commission_entry. A reversed part of an earned commission makes it REVERSED (with what is left as
its amount); while still PENDING it just shrinks, and becomes REVERSED only when nothing is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# The lines the close confirmed are those still ACTIVE or cancelled after it finished (refunds),
# each rounded once. Read apart from the INSERT: Citus routes an INSERT ... SELECT to the tenant's
# shard only without a subquery in its select list (with one, it runs on all 32).
_AMOUNT = text("""
SELECT coalesce(sum(round(o.commission_rate * (l.quantity * l.unit_price_minor
         - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID' THEN l.discount_minor ELSE 0 END))), 0)::bigint
FROM customer_order o
JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
JOIN batch_close bc ON bc.tenant_id = o.tenant_id AND bc.batch_id = o.batch_id
JOIN tenant t ON t.id = o.tenant_id
WHERE o.tenant_id = :t AND o.id = :o AND (l.status = 'ACTIVE' OR l.cancelled_at > bc.finished_at)
""")
_WRITE_DOWN = text("""
INSERT INTO commission_entry (tenant_id, id, leader_id, order_id, batch_id, rate, currency, amount_minor,
                              status, created_at)
SELECT o.tenant_id, o.id, o.leader_id, o.id, o.batch_id, o.commission_rate, o.currency, CAST(:amount AS bigint),
       'PENDING', b.closed_at
FROM customer_order o
JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id
JOIN batch_close bc ON bc.tenant_id = o.tenant_id AND bc.batch_id = o.batch_id
WHERE o.tenant_id = :t AND o.id = :o AND b.status IN ('CLOSED', 'COMPLETED')
  AND NOT EXISTS (SELECT 1 FROM commission_entry c WHERE c.tenant_id = :t AND c.order_id = o.id)
ON CONFLICT (tenant_id, order_id) DO NOTHING
""")


async def write_down(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """The order's derived commission as a commission_entry row, if it is not one yet. Called
    with the order locked (its pickup or refund), so the lines read are the close's."""
    amount = (await session.execute(_AMOUNT, {"t": tenant_id, "o": order_id})).scalar_one()
    await session.execute(_WRITE_DOWN, {"t": tenant_id, "o": order_id, "amount": amount})


async def earn_commission(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """PENDING -> EARNED; a state guard, so confirming a pickup twice earns once."""
    await write_down(session, tenant_id=tenant_id, order_id=order_id)
    await session.execute(
        text("UPDATE commission_entry SET status = 'EARNED', earned_at = statement_timestamp() "
             "WHERE tenant_id = :t AND order_id = :o AND status = 'PENDING' AND amount_minor > 0"),
        {"t": tenant_id, "o": order_id},
    )


async def reverse_for_lines(session: AsyncSession, *, tenant_id: UUID, order_id: UUID,
                            line_ids: Sequence[UUID]) -> None:
    """Takes back the commission on these whole lines, never refunded before: the rule above with
    q = q_before = the line's quantity. For schemas before refunded quantities existed (0020)."""
    await write_down(session, tenant_id=tenant_id, order_id=order_id)
    await session.execute(
            text("""
WITH part AS (
  SELECT coalesce(sum(round(c.rate * (l.quantity * l.unit_price_minor
                               - CASE WHEN t.commission_base = 'COMMISSION_ON_PAID'
                                 THEN l.discount_minor ELSE 0 END))), 0)::bigint AS amount
  FROM order_line l JOIN commission_entry c ON c.tenant_id = l.tenant_id AND c.order_id = l.order_id
  JOIN tenant t ON t.id = l.tenant_id
  WHERE l.tenant_id = :t AND l.order_id = :o AND l.id = ANY(:ids)
)
UPDATE commission_entry c
SET amount_minor = c.amount_minor - least(part.amount, c.amount_minor),
    reversed_minor = c.reversed_minor + least(part.amount, c.amount_minor),
    status = CASE WHEN c.status = 'EARNED' OR c.amount_minor <= part.amount THEN 'REVERSED' ELSE c.status END,
    reversed_at = statement_timestamp()
FROM part
WHERE c.tenant_id = :t AND c.order_id = :o AND part.amount > 0
"""),
        {"t": tenant_id, "o": order_id, "ids": list(line_ids)},
    )
