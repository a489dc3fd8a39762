"""Releasing offer stock and per-customer quantities.

Reservations are made by place_order() (migrations 0008, 0011), each one conditional statement
that checks and writes at once — never a read followed by a write — so no interleaving of
transactions can oversell. Locks are taken in one global order (batch, orders, per-customer
counters by offer id, stock slots by offer id and slot) so concurrent placements, cancellations,
expiries and batch cancellations cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def give_back(
    session: AsyncSession, *, tenant_id: UUID, lines: Iterable[tuple[UUID, int, UUID, int]]
) -> None:
    """Releases (offer_id, stock_slot, customer_id, quantity) of cancelled lines: counters first,
    then each line's stock slot, by offer id and slot (the order placement locks them in)."""
    per_slot: dict[tuple[UUID, int], int] = defaultdict(int)
    per_customer: dict[tuple[UUID, UUID], int] = defaultdict(int)
    for offer_id, slot, customer_id, quantity in lines:
        per_slot[(offer_id, slot)] += quantity
        per_customer[(offer_id, customer_id)] += quantity
    if not per_slot:
        return
    keys = sorted(per_customer)
    params = {"t": tenant_id, "offers": [k[0] for k in keys], "customers": [k[1] for k in keys]}
    await session.execute(
        text(
            "SELECT 1 FROM offer_customer_quantity c "
            "JOIN unnest(CAST(:offers AS uuid[]), CAST(:customers AS uuid[])) AS v(offer_id, customer_id) "
            "ON c.offer_id = v.offer_id AND c.customer_id = v.customer_id "
            "WHERE c.tenant_id = :t ORDER BY c.offer_id, c.customer_id FOR UPDATE OF c"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE offer_customer_quantity c SET quantity = c.quantity - v.q "
            "FROM unnest(CAST(:offers AS uuid[]), CAST(:customers AS uuid[]), CAST(:qs AS int[])) "
            "AS v(offer_id, customer_id, q) "
            "WHERE c.tenant_id = :t AND c.offer_id = v.offer_id AND c.customer_id = v.customer_id"
        ),
        {**params, "qs": [per_customer[k] for k in keys]},
    )
    slots = sorted(per_slot)
    params = {"t": tenant_id, "offers": [k[0] for k in slots], "slots": [k[1] for k in slots]}
    await session.execute(
        text(
            "SELECT 1 FROM offer_stock_slot s "
            "JOIN unnest(CAST(:offers AS uuid[]), CAST(:slots AS smallint[])) AS v(offer_id, slot) "
            "ON s.offer_id = v.offer_id AND s.slot = v.slot "
            "WHERE s.tenant_id = :t ORDER BY s.offer_id, s.slot FOR UPDATE OF s"
        ),
        params,
    )
    await session.execute(
        text(
            "UPDATE offer_stock_slot s SET sold = s.sold - v.q "
            "FROM unnest(CAST(:offers AS uuid[]), CAST(:slots AS smallint[]), CAST(:qs AS int[])) "
            "AS v(offer_id, slot, q) "
            "WHERE s.tenant_id = :t AND s.offer_id = v.offer_id AND s.slot = v.slot"
        ),
        {**params, "qs": [per_slot[k] for k in slots]},
    )
