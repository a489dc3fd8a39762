"""Reserving and releasing offer stock and per-customer quantities.

Every reservation is one conditional statement that checks and writes at once — never a read
followed by a write — so no interleaving of transactions can oversell. Locks are taken in one
global order (batch, orders, per-customer counters by offer id, offers by id) so concurrent
placements, cancellations, expiries and batch cancellations cannot deadlock.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_TAKE_STOCK = text(
    "UPDATE offer SET sold = sold + :q "
    "WHERE tenant_id = :t AND id = :id AND (stock_limit IS NULL OR sold + :q <= stock_limit) "
    "RETURNING sold"
)

_TAKE_CUSTOMER_QUANTITY = text(
    "INSERT INTO offer_customer_quantity AS c (tenant_id, offer_id, customer_id, quantity) "
    "VALUES (:t, :offer, :customer, :q) "
    "ON CONFLICT (tenant_id, offer_id, customer_id) DO UPDATE SET quantity = c.quantity + EXCLUDED.quantity "
    "WHERE c.quantity + EXCLUDED.quantity <= :limit "
    "RETURNING quantity"
)


async def take_stock(session: AsyncSession, *, tenant_id: UUID, offer_id: UUID, quantity: int) -> bool:
    """Adds `quantity` to the offer's sold count if the stock limit allows it; False otherwise."""
    row = (await session.execute(_TAKE_STOCK, {"t": tenant_id, "id": offer_id, "q": quantity})).first()
    return row is not None


async def take_customer_quantity(
    session: AsyncSession, *, tenant_id: UUID, offer_id: UUID, customer_id: UUID, quantity: int, limit: int
) -> bool:
    """Adds `quantity` to what this customer holds of the offer if the limit allows it."""
    if quantity > limit:
        return False
    row = (
        await session.execute(
            _TAKE_CUSTOMER_QUANTITY,
            {"t": tenant_id, "offer": offer_id, "customer": customer_id, "q": quantity, "limit": limit},
        )
    ).first()
    return row is not None


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
