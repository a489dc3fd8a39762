"""After the close: suppliers acknowledge and ship, leaders receive the goods, admins refund."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from service.accounts.models import PaymentMode
from service.coupons.redemption import release_for_orders
from service.errors import Collector, ErrorCode, fail
from service.notify.outbox import emit, emit_many
from service.orders.models import ORDERS_WITH_BATCH, order_state_sql
from service.procurement.commissions import reverse_for_lines
from service.procurement.models import PickList, PurchaseOrder, PurchaseOrderStatus
from service.tenants.principal import TenantInfo
from service.validation import text_value

_NEXT = {
    PurchaseOrderStatus.ACKNOWLEDGED: (PurchaseOrderStatus.SENT,),
    PurchaseOrderStatus.SHIPPED: (PurchaseOrderStatus.SENT, PurchaseOrderStatus.ACKNOWLEDGED),
}


async def advance_purchase_order(
    session: AsyncSession, *, purchase_order_id: UUID | None, supplier_id: UUID | None,
    to: PurchaseOrderStatus,
) -> PurchaseOrder:
    """SENT -> ACKNOWLEDGED -> SHIPPED. Repeating a step is harmless; going back is a CONFLICT.
    `supplier_id` restricts to that supplier's purchase orders (None: an admin)."""
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == purchase_order_id).with_for_update()
    po = (await session.execute(stmt)).scalar_one_or_none() if purchase_order_id else None
    if po is None or (supplier_id is not None and po.supplier_id != supplier_id):
        raise fail(ErrorCode.NOT_FOUND, "No such purchase order.", ["id"])
    current = PurchaseOrderStatus(po.status)
    if current == to:
        return po
    if current not in _NEXT[to]:
        raise fail(ErrorCode.CONFLICT, f"A {current.value} purchase order cannot become {to.value}.", ["id"])
    column = "acknowledged_at" if to is PurchaseOrderStatus.ACKNOWLEDGED else "shipped_at"
    row = (
        await session.execute(
            text(f"UPDATE purchase_order SET status = :s, {column} = clock_timestamp() "
                 "WHERE id = :id RETURNING acknowledged_at, shipped_at"),
            {"s": to.value, "id": po.id},
        )
    ).one()
    po.status, po.acknowledged_at, po.shipped_at = to, row.acknowledged_at, row.shipped_at
    return po


async def receive_delivery(
    session: AsyncSession, *, tenant_id: UUID, batch_id: UUID, pickup_point_id: UUID
) -> PickList:
    """The goods arrived at the point: its CONFIRMED orders become READY_FOR_PICKUP and their
    customers are told. Idempotent: a second call finds no CONFIRMED order left."""
    pick_list = (
        await session.execute(
            select(PickList).where(PickList.batch_id == batch_id, PickList.pickup_point_id == pickup_point_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if pick_list is None:
        raise fail(ErrorCode.CONFLICT, "Nothing to receive: this batch has no pick list for this point "
                                       "(not closed yet, or no order here).", ["batchId"])
    if pick_list.received_at is None:
        pick_list.received_at = (
            await session.execute(
                text("UPDATE pick_list SET received_at = clock_timestamp() WHERE id = :id RETURNING received_at"),
                {"id": pick_list.id},
            )
        ).scalar_one()
    ready = (
        await session.execute(
            text("UPDATE customer_order SET status = 'READY_FOR_PICKUP' "
                 "WHERE batch_id = :b AND pickup_point_id = :p AND status IN ('PAID', 'PLACED', 'CONFIRMED') "
                 "RETURNING id"),
            {"b": batch_id, "p": pickup_point_id},
        )
    ).scalars().all()
    await emit_many(session, tenant_id=tenant_id, event="ORDER_READY_FOR_PICKUP", subject_type="order",
                        subject_ids=ready, payload={"batchId": str(batch_id), "pickupPointId": str(pickup_point_id)})
    return pick_list


_REFUNDABLE_ORDER = ("CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP")


async def refund_lines(
    session: AsyncSession, *, tenant: TenantInfo, order_id: UUID | None, line_ids: Sequence[UUID | None],
    reason: str,
) -> UUID:
    """After-sales: the lines are cancelled, what was paid for them refunded (one refund row per
    line), the leader's commission on them reversed. All lines or none."""
    errors = Collector()
    clean_reason = text_value(errors, reason, ["reason"], max_length=500)
    if not line_ids:
        errors.add(ErrorCode.INVALID, "Name at least one line.", ["lineIds"])
    errors.raise_if_any()
    order = (
        await session.execute(
            text(f"SELECT o.id, {order_state_sql()} AS status, o.currency FROM {ORDERS_WITH_BATCH} "
                 "WHERE o.id = :id FOR UPDATE OF o"),
            {"id": order_id},
        )
    ).first() if order_id else None
    if order is None:
        raise fail(ErrorCode.NOT_FOUND, "No such order.", ["id"])
    if order.status not in _REFUNDABLE_ORDER:
        raise fail(ErrorCode.CONFLICT, "Only orders of a closed batch are refunded this way; "
                                       "cancel open orders instead.", ["id"])
    lines = {
        r.id: r for r in (
            await session.execute(
                text("SELECT id, status, "
                     "line_paid_share(unit_price_minor, quantity, discount_minor, 0, quantity) AS amount "
                     "FROM order_line "
                     "WHERE order_id = :o AND id = ANY(:ids) FOR UPDATE"),
                {"o": order.id, "ids": [i for i in line_ids if i is not None]},
            )
        ).all()
    }
    for n, line_id in enumerate(line_ids):
        line = lines.get(line_id) if line_id else None
        if line is None:
            raise fail(ErrorCode.NOT_FOUND, "No such line in this order.", ["lineIds", str(n)])
        if line.status != "ACTIVE":
            raise fail(ErrorCode.CONFLICT, "This line was already refunded or cancelled.", ["lineIds", str(n)])
    ids = list(lines)
    await session.execute(
        text("UPDATE order_line SET status = 'CANCELLED', cancelled_at = clock_timestamp() WHERE id = ANY(:ids)"),
        {"ids": ids},
    )
    # Money moved only if it was paid: always for PREPAID tenants, at pickup for PAY_AT_PICKUP.
    paid = tenant.payment_mode is PaymentMode.PREPAID or order.status == "PICKED_UP"
    if paid:
        refunds = (
            await session.execute(
                text("INSERT INTO refund (tenant_id, id, order_id, order_line_id, amount_minor, currency, reason) "
                     "SELECT :t, gen_random_uuid(), :o, id, "
                     "line_paid_share(unit_price_minor, quantity, discount_minor, 0, quantity), :c, :r "
                     "FROM order_line WHERE id = ANY(:ids) RETURNING id"),
                {"t": tenant.id, "o": order.id, "c": order.currency, "r": clean_reason, "ids": ids},
            )
        ).scalars().all()
        await session.execute(
            text("UPDATE customer_order SET refunded_minor = refunded_minor + :a WHERE id = :o"),
            {"a": sum(line.amount for line in lines.values()), "o": order.id},
        )
        await emit_many(session, tenant_id=tenant.id, event="REFUND_CREATED", subject_type="refund",
                            subject_ids=refunds, payload={"orderId": str(order.id)})
    await reverse_for_lines(session, tenant_id=tenant.id, order_id=order.id, line_ids=ids)
    if not (await session.execute(text("SELECT 1 FROM order_line WHERE order_id = :o AND status = 'ACTIVE' LIMIT 1"),
                                  {"o": order.id})).first():  # refunded whole: its coupon back, per the tenant
        await release_for_orders(session, tenant_id=tenant.id, order_ids=[order.id], refund=True)
    if order.status != "PICKED_UP":
        emptied = (
            await session.execute(
                text("UPDATE customer_order o SET status = 'CANCELLED', cancelled_at = clock_timestamp(), "
                     "cancel_reason = :r WHERE id = :o AND NOT EXISTS (SELECT 1 FROM order_line l "
                     "WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.status = 'ACTIVE') RETURNING id"),
                {"o": order.id, "r": clean_reason},
            )
        ).first()
        if emptied:
            await emit(session, tenant_id=tenant.id, event="ORDER_CANCELLED", subject_type="order",
                               subject_id=order.id, payload={"orderId": str(order.id), "reason": clean_reason})
    return order.id
