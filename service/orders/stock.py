"""Releasing offer stock and per-customer quantities.

Reservations are made by place_order() (migration 0008), each one conditional statement that
checks and writes at once — never a read followed by a write — so no interleaving of
transactions can oversell. Locks are taken in one global order (batch, orders, per-customer
counters by offer id, offers by id) so concurrent placements, cancellations, expiries and
batch cancellations cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def give_back(
    session: AsyncSession, *, tenant_id: UUID, lines: Iterable[tuple[UUID, UUID, int]]
) -> None:
    """Releases (offer_id, customer_id, quantity) triples: counters first, then offers, by id
    (the order placement locks them in)."""
    per_offer: dict[UUID, int] = defaultdict(int)
    per_customer: dict[tuple[UUID, UUID], int] = defaultdict(int)
    for offer_id, customer_id, quantity in lines:
        per_offer[offer_id] += quantity
        per_customer[(offer_id, customer_id)] += quantity
    if not per_offer:
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
    offers = sorted(per_offer)
    await session.execute(
        text("SELECT id FROM offer WHERE tenant_id = :t AND id = ANY(:ids) ORDER BY id FOR UPDATE"),
        {"t": tenant_id, "ids": offers},
    )
    await session.execute(
        text(
            "UPDATE offer o SET sold = o.sold - v.q "
            "FROM unnest(CAST(:ids AS uuid[]), CAST(:qs AS int[])) AS v(id, q) "
            "WHERE o.tenant_id = :t AND o.id = v.id"
        ),
        {"t": tenant_id, "ids": offers, "qs": [per_offer[o] for o in offers]},
    )
