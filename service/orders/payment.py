"""orderMarkPaid: the tenant's back end reports a payment (idempotent on the reference)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.redemption import consume_for_order
from service.errors import Collector, ErrorCode, fail
from service.groupbuys import payment as group_buys
from service.i18n import msg
from service.notify.outbox import emit
from service.orders.models import ORDERS_WITH_BATCH, order_state_sql
from service.validation import text_value


async def mark_paid(
    session: AsyncSession, *, tenant_id: UUID, order_id: UUID | None, payment_reference: str
) -> UUID:
    errors = Collector()
    reference = text_value(errors, payment_reference, ["paymentReference"], max_length=200)
    errors.raise_if_any()
    if order_id is None:
        raise fail(ErrorCode.NOT_FOUND, "No such order.", ["id"])
    # 拼团: the order's group is locked before the order, and the payment counted in it after.
    in_group = await group_buys.lock_group(session, tenant_id=tenant_id, order_id=order_id)
    # A state guard: this and the expiry of unpaid orders cannot both win.
    paid = (
        await session.execute(
            text(
                "UPDATE customer_order "
                "SET status = 'PAID', payment_reference = :r, paid_at = statement_timestamp() "
                "WHERE tenant_id = :t AND id = :id AND status = 'PENDING_PAYMENT' RETURNING id, customer_id, number"
            ),
            {"t": tenant_id, "id": order_id, "r": reference},
        )
    ).first()
    if paid is not None:
        await consume_for_order(session, tenant_id=tenant_id, order_id=paid.id)
        await emit(
            session,
            tenant_id=tenant_id,
            event="ORDER_PAID",
            subject_type="order",
            subject_id=paid.id,
            payload={
                "orderId": str(paid.id),
                "number": paid.number,
                "customerId": str(paid.customer_id),
                "paymentReference": reference,
            },
        )
        if in_group:
            await group_buys.after_paid(session, tenant_id=tenant_id, order_id=paid.id)
        return paid.id
    order = (
        await session.execute(
            text(f"SELECT o.id, {order_state_sql()} AS status, o.payment_reference FROM {ORDERS_WITH_BATCH} "
                 "WHERE o.tenant_id = :t AND o.id = :id"),
            {"t": tenant_id, "id": order_id},
        )
    ).first()
    if order is None:
        raise fail(ErrorCode.NOT_FOUND, "No such order.", ["id"])
    if order.payment_reference is not None:
        if order.payment_reference == reference:
            return order.id  # the same payment reported again
        raise fail(
            ErrorCode.CONFLICT,
            "This order was already paid with another payment reference.",
            ["paymentReference"],
        )
    if order.status == "CANCELLED":
        raise fail(
            ErrorCode.CONFLICT,
            "This order was cancelled (unpaid in time, or by its customer); refund the payment.",
            ["id"],
        )
    raise fail(ErrorCode.CONFLICT, msg("orders.no_prepayment", status=f"{order.status}"), ["id"])
