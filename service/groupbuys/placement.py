"""orderPlace with groupBuyId or startGroupBuy: the transactional path.

One transaction: the batch gate (shared) and the joined group's row lock first (the lock order
of payments and the expiry job: group, then orders and stock), then `placement.place_order`,
then group_buy_join() and, for a tenant paid at pickup (the order is PLACED, so it counts as
paid), group_buy_paid(). Any refusal rolls the whole order back; the commit-time cutoff check
refuses like orderPlace does. Plain orders never come here.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.batches.locks import pass_gate
from service.db import tenant_transaction
from service.errors import ErrorCode, fail
from service.groupbuys.payment import after_paid
from service.orders import placement
from service.orders.models import OrderStatus
from service.tenants.principal import TenantInfo

_LOCK = text("SELECT 1 FROM group_buy WHERE tenant_id = :t AND id = :g FOR UPDATE")
_JOIN = text("SELECT group_buy_join(:t, :o, CAST(:g AS uuid), :h)")


async def place_group_order(
    *,
    tenant: TenantInfo,
    customer_id: UUID,
    batch_id: UUID | None,
    pickup_point_id: UUID | None,
    lines: Sequence[placement.LineSpec],
    idempotency_key: str,
    group_buy_id: UUID | None,
    start: bool,
) -> placement.Placed:
    """`group_buy_id`: join that group; else `start` a new one (None with `start` False: the
    client's groupBuyId was not a GroupBuy ID)."""
    if group_buy_id is None and not start:
        raise fail(ErrorCode.NOT_FOUND, "No such group for this offer.", ["groupBuyId"])
    placement.clean(batch_id, pickup_point_id, lines, idempotency_key)
    try:
        async with tenant_transaction(tenant.id) as session:
            if group_buy_id is not None and batch_id is not None:
                await pass_gate(session, batch_id)
                if (await session.execute(_LOCK, {"t": tenant.id, "g": group_buy_id})).first() is None:
                    raise fail(ErrorCode.NOT_FOUND, "No such group for this offer.", ["groupBuyId"])
            placed = await placement.place_order(
                session, tenant=tenant, customer_id=customer_id, batch_id=batch_id,
                pickup_point_id=pickup_point_id, lines=lines, idempotency_key=idempotency_key)
            if placed.replayed:
                return placed  # the first order, already in its group
            await session.execute(_JOIN, {"t": tenant.id, "o": placed.order_id, "g": group_buy_id,
                                          "h": tenant.payment_window_minutes})
            if placed.order.status == OrderStatus.PLACED:
                await after_paid(session, tenant_id=tenant.id, order_id=placed.order_id)
    except DBAPIError as e:
        refusal = placement._refusal(e.orig)  # the refusals of place_order(), raised the same way
        if refusal is None:
            raise
        raise refusal from None
    return placed
