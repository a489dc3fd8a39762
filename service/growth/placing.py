"""orderPlace with a share code: place_order() inside the caller's transaction, then
referral_snapshot() in the same one, so a refusal of either leaves nothing written. Orders
without a share code never come here (their path is the grouped, one-statement one)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import ErrorCode, fail
from service.growth import links
from service.orders import placement
from service.tenants.principal import TenantInfo

UNKNOWN_CODE_SQLSTATE = "GB005"  # referral_snapshot(): no such share code in this tenant


async def place_shared(session: AsyncSession, *, tenant: TenantInfo, customer_id: UUID, batch_id: UUID | None,
                       pickup_point_id: UUID | None, lines: Sequence[placement.LineSpec], idempotency_key: str,
                       share_code: str) -> placement.Placed:
    """Places the order and snapshots its referrer chain; uncommitted (the caller commits, which
    runs the cutoff check). A replayed order is returned as it was: its chain was taken then."""
    placed = await placement.place_order(session, tenant=tenant, customer_id=customer_id, batch_id=batch_id,
                                         pickup_point_id=pickup_point_id, lines=lines,
                                         idempotency_key=idempotency_key)
    if placed.replayed:
        return placed
    try:
        await links.snapshot(session, tenant_id=tenant.id, order_id=placed.order_id, code=share_code)
    except DBAPIError as e:
        if isinstance(e.orig, psycopg.Error) and e.orig.sqlstate == UNKNOWN_CODE_SQLSTATE:
            raise fail(ErrorCode.NOT_FOUND, "No such share code.", ["input", "shareCode"]) from None
        raise
    return placed
