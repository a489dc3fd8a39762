"""orderPlace with extras (a coupon, a share code, 拼团: groupBuyId or startGroupBuy), in any
combination: place_order_extras() (service/orders/sql/place_order_extras.sql) places the order with
place_order() and applies every extra in the same statement, so any refusal rolls the whole order
back. Plain orders never come here.

One statement in autocommit is the whole transaction (one round trip) except for a 拼团 order of a
tenant paid at pickup: that order is PLACED, so it counts as paid at once, and `after_paid`
(group_buy_paid() and the group's events) follows in the same transaction, whose commit then runs
the cutoff check like orderPlace's.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.exc import DBAPIError

from service.accounts.models import PaymentMode
from service.db import run_alone, tenant_transaction
from service.groupbuys.payment import after_paid
from service.orders import placement
from service.tenants.principal import TenantInfo


async def place_with_extras(tenant: TenantInfo, batch_id: UUID | None, request: placement.OrderRequest,
                            extras: placement.Extras) -> placement.Placed:
    """Places and commits the order with its extras; raises the refusal as orderPlace does."""
    if not (extras.group and tenant.payment_mode is PaymentMode.PAY_AT_PICKUP):
        return await run_alone(lambda conn: placement.place_extras_alone(
            conn, tenant=tenant, batch_id=batch_id, request=request, extras=extras))
    try:
        async with tenant_transaction(tenant.id) as session:
            placed = await placement.place_extras(session, tenant=tenant, batch_id=batch_id, request=request,
                                                  extras=extras)
            if not placed.replayed:  # a replay is the first order, counted then
                await after_paid(session, tenant_id=tenant.id, order_id=placed.order_id)
    except DBAPIError as e:  # the commit's cutoff check
        refusal = placement.refusal_of_error(e.orig)
        if refusal is None:
            raise
        raise refusal from None
    return placed
