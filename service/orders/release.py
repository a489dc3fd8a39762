"""Cancelling orders: their lines, their stock, refunds for what was paid, and the events."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.redemption import release_for_orders
from service.db import insert_select
from service.orders.models import OPEN_ORDER_STATUSES, OrderStatus
from service.orders.stock import give_back

_CANCEL = text(
    "UPDATE customer_order o "
    "SET status = 'CANCELLED', cancelled_at = statement_timestamp(), cancel_reason = :reason "
    "FROM (SELECT id, status FROM customer_order "
    "      WHERE tenant_id = :t AND id = ANY(:ids) AND status = ANY(:statuses) "
    "      ORDER BY id FOR UPDATE) AS old "
    "WHERE o.tenant_id = :t AND o.id = old.id "
    "RETURNING o.id, old.status AS old_status, o.customer_id"
)

_CANCEL_LINES = text(
    "UPDATE order_line SET status = 'CANCELLED', cancelled_at = statement_timestamp() "
    "WHERE tenant_id = :t AND order_id = ANY(:ids) AND status = 'ACTIVE' "
    "RETURNING order_id, offer_id, stock_slot, quantity"
)

# Refund what was paid and not refunded yet; the order's refunded amount follows.
_REFUND = text(
    "WITH r AS ("
    "  INSERT INTO refund (tenant_id, id, order_id, amount_minor, currency, reason) "
    "  SELECT tenant_id, gen_random_uuid(), id, total_minor - refunded_minor, currency, :reason "
    "  FROM customer_order WHERE tenant_id = :t AND id = ANY(:ids) AND total_minor > refunded_minor "
    "  RETURNING id, order_id, amount_minor) "
    "UPDATE customer_order o SET refunded_minor = o.refunded_minor + r.amount_minor "
    "FROM r WHERE o.tenant_id = :t AND o.id = r.order_id RETURNING r.id"
)

_OUTBOX = "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)"

_ORDER_EVENTS = (
    "SELECT tenant_id, gen_random_uuid(), CAST(:event AS text), 'order', id, "
    "       jsonb_build_object('orderId', id, 'number', number, 'customerId', customer_id, "
    "                          'leaderId', leader_id, 'reason', CAST(:reason AS text)) "
    "FROM customer_order WHERE tenant_id = :t AND id = ANY(:ids)"
)

_REFUND_EVENTS = (
    "SELECT r.tenant_id, gen_random_uuid(), 'REFUND_CREATED', 'refund', r.id, "
    "       jsonb_build_object('refundId', r.id, 'orderId', r.order_id, 'amountMinor', r.amount_minor, "
    "                          'currency', r.currency, 'customerId', o.customer_id) "
    "FROM refund r JOIN customer_order o ON o.tenant_id = r.tenant_id AND o.id = r.order_id "
    "WHERE r.tenant_id = :t AND r.id = ANY(:ids)"
)


@dataclass(frozen=True)
class CancelledOrder:
    id: UUID
    previous_status: OrderStatus


async def cancel_orders(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    order_ids: Sequence[UUID],
    reason: str,
    from_statuses: Sequence[OrderStatus] = OPEN_ORDER_STATUSES,
) -> list[CancelledOrder]:
    """Cancels those of `order_ids` still in `from_statuses` (a state guard: running twice, or
    racing a payment or another cancellation, cancels and releases each order once)."""
    if not order_ids:
        return []
    t = tenant_id
    rows = (
        await session.execute(
            _CANCEL,
            {"t": t, "ids": list(order_ids), "statuses": [s.value for s in from_statuses], "reason": reason},
        )
    ).all()
    if not rows:
        return []
    cancelled = [CancelledOrder(r.id, OrderStatus(r.old_status)) for r in rows]
    customer_of = {r.id: r.customer_id for r in rows}
    ids = [c.id for c in cancelled]
    lines = (await session.execute(_CANCEL_LINES, {"t": t, "ids": ids})).all()
    released = [(ln.offer_id, ln.stock_slot, customer_of[ln.order_id], ln.quantity) for ln in lines]
    await give_back(session, tenant_id=t, lines=released)
    await release_for_orders(session, tenant_id=t, order_ids=ids)  # coupons: after the stock (lock order)
    paid = [c.id for c in cancelled if c.previous_status is OrderStatus.PAID]
    if paid:
        refunds = [
            r.id for r in (await session.execute(_REFUND, {"t": t, "ids": paid, "reason": reason})).all()
        ]
        if refunds:
            await insert_select(session, _OUTBOX, _REFUND_EVENTS, {"t": t, "ids": refunds})
    await insert_select(session, _OUTBOX, _ORDER_EVENTS,
                        {"t": t, "ids": ids, "event": "ORDER_CANCELLED", "reason": reason})
    return cancelled
