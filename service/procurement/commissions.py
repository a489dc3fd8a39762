"""Commissions after the close: earned at pickup, reversed (fully or in part) by refunds.

A reversal takes back round_half_up(rate x refunded line total) — the same per-line rounding the
close used — so a commission never drifts from rate x its remaining lines. A reversed part of an
earned commission makes it REVERSED (with what is left as its amount); while still PENDING it
just shrinks, and becomes REVERSED only when nothing is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def earn_commission(session: AsyncSession, *, tenant_id: UUID, order_id: UUID) -> None:
    """PENDING -> EARNED; a state guard, so confirming a pickup twice earns once."""
    await session.execute(
        text("UPDATE commission SET status = 'EARNED', earned_at = clock_timestamp() "
             "WHERE tenant_id = :t AND order_id = :o AND status = 'PENDING' AND amount_minor > 0"),
        {"t": tenant_id, "o": order_id},
    )


async def reverse_for_lines(session: AsyncSession, *, tenant_id: UUID, order_id: UUID,
                            line_ids: Sequence[UUID]) -> None:
    """Takes back the commission on these (just refunded) lines."""
    await session.execute(
            text("""
WITH part AS (
  SELECT coalesce(sum(round(c.rate * l.quantity * l.unit_price_minor)), 0)::bigint AS amount
  FROM order_line l JOIN commission c ON c.tenant_id = l.tenant_id AND c.order_id = l.order_id
  WHERE l.tenant_id = :t AND l.order_id = :o AND l.id = ANY(:ids)
)
UPDATE commission c
SET amount_minor = c.amount_minor - least(part.amount, c.amount_minor),
    reversed_minor = c.reversed_minor + least(part.amount, c.amount_minor),
    status = CASE WHEN c.status = 'EARNED' OR c.amount_minor <= part.amount THEN 'REVERSED' ELSE c.status END,
    reversed_at = clock_timestamp()
FROM part
WHERE c.tenant_id = :t AND c.order_id = :o AND part.amount > 0
"""),
        {"t": tenant_id, "o": order_id, "ids": list(line_ids)},
    )
