"""orderCancel: a customer cancels their own order before the cutoff; stock comes back at once."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.batches.locks import pass_gate
from service.errors import ErrorCode, fail
from service.groupbuys import cancellation as group_buys
from service.i18n import msg
from service.orders.models import OPEN_ORDER_STATUSES, ORDERS_WITH_BATCH, OrderStatus, order_state_sql
from service.orders.release import cancel_orders


async def cancel_own_order(
    session: AsyncSession, *, tenant_id: UUID, customer_id: UUID, order_id: UUID | None
) -> UUID:
    order = None
    if order_id is not None:
        order = (
            await session.execute(
                text(f"SELECT o.id, o.batch_id, {order_state_sql()} AS status FROM {ORDERS_WITH_BATCH} "
                     "WHERE o.tenant_id = :t AND o.id = :id AND o.customer_id = :c"),
                {"t": tenant_id, "id": order_id, "c": customer_id},
            )
        ).first()
    if order is None:  # someone else's order looks exactly like a missing one
        raise fail(ErrorCode.NOT_FOUND, "No such order.", ["id"])
    if order.status == OrderStatus.CANCELLED.value:
        return order.id  # cancelling twice is harmless
    if order.status not in {s.value for s in OPEN_ORDER_STATUSES}:
        raise fail(ErrorCode.CONFLICT, msg("orders.cannot_cancel", status=f"{order.status}"), ["id"])
    # The gate and FOR SHARE, like placement: a close or batch cancellation waits for us, and a
    # close that began first is seen here.
    await pass_gate(session, order.batch_id)
    batch = (
        await session.execute(
            text(
                "SELECT status, closes_at > clock_timestamp() AS before_cutoff FROM batch "
                "WHERE tenant_id = :t AND id = :b FOR SHARE"
            ),
            {"t": tenant_id, "b": order.batch_id},
        )
    ).one()
    if batch.status != "OPEN" or not batch.before_cutoff:
        raise fail(
            ErrorCode.BATCH_NOT_OPEN,
            "The batch's cutoff has passed: orders can no longer be cancelled.",
            ["id"],
        )
    await group_buys.check_cancel(session, tenant_id=tenant_id, order_id=order.id)  # 拼团: formed groups stay
    await cancel_orders(
        session, tenant_id=tenant_id, order_ids=[order.id], reason="Cancelled by the customer"
    )
    return order.id
