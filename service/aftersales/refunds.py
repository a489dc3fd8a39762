"""Refunds by quantity: every refund (admins', shortages', after-sales approvals') goes through
refund_line_quantities(), which locks the order and its lines and reverses the commission by
quantity. Nothing here refunds a unit that was not paid for or already refunded."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import PaymentMode
from service.aftersales.models import RefundReason
from service.coupons.redemption import release_for_orders
from service.errors import Collector, ErrorCode, fail
from service.growth import distribution
from service.i18n import msg
from service.notify.outbox import emit_many
from service.orders.models import ORDERS_WITH_BATCH, order_state_sql
from service.tenants.principal import Principal, PrincipalKind, TenantInfo
from service.validation import text_value

REFUNDABLE_ORDER = ("CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP")


@dataclass(frozen=True)
class Actor:
    """Who refunds: a user (admin, leader, supplier staff), an API key, or the platform's jobs."""

    kind: str
    id: UUID | None = None


def actor_of(principal: Principal) -> Actor:
    if principal.kind is PrincipalKind.USER:
        return Actor("user", principal.user_id)
    if principal.kind is PrincipalKind.API_KEY:
        return Actor("api_key", principal.api_key_id)
    return Actor(principal.kind.value)


@dataclass
class RefundResult:
    refund_ids: list[UUID] = field(default_factory=list)
    order_ids: list[UUID] = field(default_factory=list)
    cancelled_order_ids: list[UUID] = field(default_factory=list)


_APPLY = text("SELECT kind, id FROM refund_line_quantities(:t, :lines, :qs, :reason, :note, :actor_kind, "
              ":actor_id, :shorted, :prepaid)")


async def apply_refunds(
    session: AsyncSession, *, tenant: TenantInfo, lines: Sequence[tuple[UUID, int]], reason: RefundReason,
    note: str | None, actor: Actor, shorted: bool = False,
) -> RefundResult:
    """Refunds validated quantities (the caller holds the order's lock) and emits the events."""
    result = RefundResult()
    rows = (await session.execute(_APPLY, {
        "t": tenant.id, "lines": [line for line, _ in lines], "qs": [q for _, q in lines], "reason": reason.value,
        "note": note, "actor_kind": actor.kind, "actor_id": actor.id, "shorted": shorted,
        "prepaid": tenant.payment_mode is PaymentMode.PREPAID,
    })).all()
    await _emit(session, tenant=tenant, rows=rows, result=result, note=note or reason.value)
    return result


_REFUNDED_WHOLE = text(
    "SELECT o.id FROM customer_order o WHERE o.tenant_id = :t AND o.id = ANY(:ids) AND NOT EXISTS "
    "(SELECT 1 FROM order_line l WHERE l.tenant_id = o.tenant_id AND l.order_id = o.id AND l.status = 'ACTIVE')")


async def _emit(session: AsyncSession, *, tenant: TenantInfo, rows: Sequence[object], result: RefundResult,
                note: str) -> None:
    for r in rows:
        kind, id_ = r[0], r[1]  # type: ignore[index]  # a Row of (kind, id)
        if kind == "refund":
            result.refund_ids.append(id_)
        elif kind == "order":
            result.order_ids.append(id_)
        elif kind == "cancelled":
            result.cancelled_order_ids.append(id_)
    await emit_many(session, tenant_id=tenant.id, event="ORDER_CANCELLED", subject_type="order",
                    subject_ids=result.cancelled_order_ids, payload={"reason": note})
    await distribution.reverse_refunded(session, tenant_id=tenant.id, order_ids=result.order_ids)
    if result.order_ids:  # refunded whole: the coupon back, as the tenant says (coupon_release_on_refund)
        emptied = (await session.execute(_REFUNDED_WHOLE, {"t": tenant.id, "ids": result.order_ids})).scalars().all()
        await release_for_orders(session, tenant_id=tenant.id, order_ids=list(emptied), refund=True)


async def refund_order_lines(
    session: AsyncSession, *, tenant: TenantInfo, order_id: UUID | None,
    lines: Sequence[tuple[UUID | None, int | None]], reason: RefundReason, note: str | None, actor: Actor,
    field_name: str = "lines",
) -> UUID:
    """orderLinesRefund: quantities of one order's lines, all or none. `quantity` None is the
    whole rest of the line (orderRefund)."""
    errors = Collector()
    clean_note = text_value(errors, note, ["note"], max_length=500, required=False)
    if not lines:
        errors.add(ErrorCode.INVALID, "Name at least one line.", [field_name])
    errors.raise_if_any()
    order = (
        await session.execute(
            text(f"SELECT o.id, {order_state_sql()} AS status FROM {ORDERS_WITH_BATCH} "
                 "WHERE o.tenant_id = :t AND o.id = :id FOR UPDATE OF o"),
            {"t": tenant.id, "id": order_id},
        )
    ).first() if order_id else None
    if order is None:
        raise fail(ErrorCode.NOT_FOUND, "No such order.", ["orderId" if field_name == "lines" else "id"])
    if order.status not in REFUNDABLE_ORDER:
        raise fail(ErrorCode.CONFLICT, "Only orders of a closed batch are refunded this way; "
                                       "cancel open orders instead.", ["orderId" if field_name == "lines" else "id"])
    found = {
        r.id: r for r in (
            await session.execute(
                text("SELECT id, status, quantity, refunded_quantity FROM order_line "
                     "WHERE tenant_id = :t AND order_id = :o AND id = ANY(:ids) ORDER BY id FOR UPDATE"),
                {"t": tenant.id, "o": order.id, "ids": [i for i, _ in lines if i is not None]},
            )
        ).all()
    }
    wanted: dict[UUID, int] = {}
    for n, (line_id, quantity) in enumerate(lines):
        line = found.get(line_id) if line_id else None
        path = [field_name, str(n)]
        if line is None:
            raise fail(ErrorCode.NOT_FOUND, "No such line in this order.", [*path, "lineId"] if field_name == "lines"
                       else path)
        left = line.quantity - line.refunded_quantity
        if line.status != "ACTIVE" or left <= 0:
            raise fail(ErrorCode.CONFLICT, "This line was already refunded or cancelled.",
                       [*path, "lineId"] if field_name == "lines" else path)
        q = left if quantity is None else quantity
        if q < 1:
            raise fail(ErrorCode.INVALID, "Refund at least one unit.", [*path, "quantity"])
        if wanted.get(line.id, 0) + q > left:
            raise fail(ErrorCode.CONFLICT, msg("aftersales.left_to_refund", n=left),
                       [*path, "quantity"])
        wanted[line.id] = wanted.get(line.id, 0) + q
    await apply_refunds(session, tenant=tenant, lines=list(wanted.items()), reason=reason,
                        note=clean_note, actor=actor)
    return order.id
