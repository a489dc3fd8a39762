"""After the close: suppliers acknowledge and ship, leaders receive the goods, admins refund."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from service.aftersales.models import RefundReason
from service.aftersales.refunds import Actor, refund_order_lines
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.notify.outbox import emit_many
from service.procurement.models import PickList, PurchaseOrder, PurchaseOrderStatus
from service.tenants.principal import TenantInfo
from service.validation import text_value

_NEXT = {
    PurchaseOrderStatus.ACKNOWLEDGED: (PurchaseOrderStatus.SENT,),
    PurchaseOrderStatus.SHIPPED: (PurchaseOrderStatus.SENT, PurchaseOrderStatus.ACKNOWLEDGED),
}


async def advance_purchase_order(
    session: AsyncSession, *, tenant_id: UUID, purchase_order_id: UUID | None, supplier_id: UUID | None,
    to: PurchaseOrderStatus,
) -> PurchaseOrder:
    """SENT -> ACKNOWLEDGED -> SHIPPED. Repeating a step is harmless; going back is a CONFLICT.
    `supplier_id` restricts to that supplier's purchase orders (None: an admin)."""
    stmt = (select(PurchaseOrder).where(PurchaseOrder.tenant_id == tenant_id, PurchaseOrder.id == purchase_order_id)
            .with_for_update())
    po = (await session.execute(stmt)).scalar_one_or_none() if purchase_order_id else None
    if po is None or (supplier_id is not None and po.supplier_id != supplier_id):
        raise fail(ErrorCode.NOT_FOUND, "No such purchase order.", ["id"])
    current = PurchaseOrderStatus(po.status)
    if current == to:
        return po
    if current not in _NEXT[to]:
        raise fail(ErrorCode.CONFLICT, msg("procurement.transition", status=current.value, to=to.value), ["id"])
    column = "acknowledged_at" if to is PurchaseOrderStatus.ACKNOWLEDGED else "shipped_at"
    row = (
        await session.execute(
            text(f"UPDATE purchase_order SET status = :s, {column} = statement_timestamp() "
                 "WHERE tenant_id = :t AND id = :id RETURNING acknowledged_at, shipped_at"),
            {"s": to.value, "t": po.tenant_id, "id": po.id},
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
            select(PickList).where(PickList.tenant_id == tenant_id, PickList.batch_id == batch_id,
                                   PickList.pickup_point_id == pickup_point_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if pick_list is None:
        raise fail(ErrorCode.CONFLICT, "Nothing to receive: this batch has no pick list for this point "
                                       "(not closed yet, or no order here).", ["batchId"])
    if pick_list.received_at is None:
        pick_list.received_at = (
            await session.execute(
                text("UPDATE pick_list SET received_at = statement_timestamp() "
                     "WHERE tenant_id = :t AND id = :id RETURNING received_at"),
                {"t": tenant_id, "id": pick_list.id},
            )
        ).scalar_one()
    ready = (
        await session.execute(
            text("UPDATE customer_order SET status = 'READY_FOR_PICKUP' "
                 "WHERE tenant_id = :t AND batch_id = :b AND pickup_point_id = :p "
                 "AND status IN ('PAID', 'PLACED', 'CONFIRMED') RETURNING id"),
            {"t": tenant_id, "b": batch_id, "p": pickup_point_id},
        )
    ).scalars().all()
    await emit_many(session, tenant_id=tenant_id, event="ORDER_READY_FOR_PICKUP", subject_type="order",
                        subject_ids=ready, payload={"batchId": str(batch_id), "pickupPointId": str(pickup_point_id)})
    return pick_list


async def refund_lines(
    session: AsyncSession, *, tenant: TenantInfo, order_id: UUID | None, line_ids: Sequence[UUID | None],
    reason: str, actor: Actor,
) -> UUID:
    """orderRefund: whole lines (what is left of them), through the by-quantity path. All lines or none."""
    errors = Collector()
    clean_reason = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    return await refund_order_lines(session, tenant=tenant, order_id=order_id,
                                    lines=[(i, None) for i in line_ids], reason=RefundReason.OTHER,
                                    note=clean_reason, actor=actor, field_name="lineIds")
