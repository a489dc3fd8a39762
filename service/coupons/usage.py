"""Using coupons: an order with a coupon.

An order with a coupon takes the transactional path: `placement.place_order` in a transaction
of its own, then coupon_apply() (service/coupons/sql/coupon_apply.sql) in the same transaction;
any refusal rolls both back, so no order is left without its coupon or a coupon without its
order. Plain orders never come here.
"""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from service.db import tenant_transaction
from service.errors import ErrorCode, fail
from service.orders import placement
from service.tenants.principal import TenantInfo

_APPLY = text("SELECT coupon_apply(:t, :o, :c, :coupon)")


async def place_with_coupon(
    tenant: TenantInfo, batch_id: UUID | None, request: placement.OrderRequest, coupon_id: UUID | None
) -> placement.Placed:
    """Places the order and applies the coupon in one transaction, committed here."""
    if coupon_id is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon.", ["couponId"])
    try:
        async with tenant_transaction(tenant.id) as session:
            placed = await placement.place_order(
                session, tenant=tenant, customer_id=request.customer_id, batch_id=batch_id,
                pickup_point_id=request.pickup_point_id, lines=request.lines,
                idempotency_key=request.idempotency_key)
            if not placed.replayed:  # a replay is the first order, with its coupon
                discount = (await session.execute(_APPLY, {"t": tenant.id, "o": placed.order_id,
                                                           "c": request.customer_id, "coupon": coupon_id})).scalar_one()
                order = placed.order.__dict__
                order["discount_minor"], order["coupon_id"] = discount, coupon_id
                order["total_minor"] = order["total_minor"] - discount
    except DBAPIError as e:
        refusal = placement._refusal(e.orig)
        if refusal is None:
            raise
        raise refusal from None
    return placed
