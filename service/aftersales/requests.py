"""After-sales requests (售后): a customer asks for a refund of units of a picked-up line within
the tenant's window; that point's leader or an admin approves (all or part: refunded through
the one refund path) or rejects it; the customer may cancel it while it is REQUESTED.

REQUESTED -> APPROVED | REJECTED | CANCELLED; every other transition is a CONFLICT. One open
request per line is a unique index; the request's row lock orders concurrent decisions."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from service import global_id
from service.aftersales.compensation import (
    Affected,
    CompensationMode,
    Outcome,
    Policy,
    existing_template,
    grant,
    tenant_policy,
)
from service.aftersales.models import AfterSalesRequest, AfterSalesStatus, RefundReason
from service.aftersales.receiving import photo_urls
from service.aftersales.refunds import Actor, refund_order_lines
from service.errors import Collector, ErrorCode, UserErrors, fail
from service.i18n import msg
from service.notify.outbox import emit
from service.tenants.principal import TenantInfo
from service.validation import text_value


def _payload(row: AfterSalesRequest, **extra: object) -> dict[str, object]:
    return {"afterSalesRequestId": global_id.encode("AfterSalesRequest", row.id),
            "orderId": global_id.encode("Order", row.order_id),
            "lineId": global_id.encode("OrderLine", row.order_line_id),
            "pickupPointId": global_id.encode("PickupPoint", row.pickup_point_id),
            "quantity": row.quantity, "reason": row.reason, "status": row.status, **extra}


async def request(
    session: AsyncSession, *, tenant: TenantInfo, customer_id: UUID, line_id: UUID | None, quantity: int,
    reason: RefundReason, note: str | None, urls: Sequence[str] | None,
) -> AfterSalesRequest:
    errors = Collector()
    clean_note = text_value(errors, note, ["note"], max_length=500, required=False)
    clean_urls = photo_urls(errors, urls, ["photoUrls"])
    if quantity < 1:
        errors.add(ErrorCode.INVALID, "Ask for at least one unit.", ["quantity"])
    errors.raise_if_any()
    line = (await session.execute(
        text("SELECT l.id, l.order_id, l.quantity, l.refunded_quantity, l.status AS line_status, o.status, "
             "o.picked_up_at, o.pickup_point_id, o.customer_id, "
             "o.picked_up_at + make_interval(hours => :h) < clock_timestamp() AS too_late "
             "FROM order_line l JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
             "WHERE l.tenant_id = :t AND l.id = :l FOR UPDATE OF o"),
        {"t": tenant.id, "l": line_id, "h": tenant.after_sales_window_hours})).first() if line_id else None
    if line is None or line.customer_id != customer_id:
        raise fail(ErrorCode.NOT_FOUND, "No such order line.", ["lineId"])
    if line.status != "PICKED_UP" or line.picked_up_at is None:
        raise fail(ErrorCode.CONFLICT, "After-sales requests are for orders already picked up.", ["lineId"])
    if line.too_late:
        raise fail(ErrorCode.CONFLICT, msg("aftersales.window_over", hours=tenant.after_sales_window_hours), ["lineId"])
    # Units already compensated by a coupon instead of a refund are settled too.
    settled = (await session.execute(
        text("SELECT coalesce(sum(quantity), 0) FROM compensation WHERE tenant_id = :t AND order_line_id = :l "
             "AND mode = 'COUPON_INSTEAD_OF_REFUND' AND coupon_id IS NOT NULL AND after_sales_request_id IS NOT NULL"),
        {"t": tenant.id, "l": line.id})).scalar_one()
    left = line.quantity - line.refunded_quantity - int(settled)
    if quantity > left:
        raise fail(ErrorCode.CONFLICT, msg("aftersales.left_to_refund", n=left), ["quantity"])
    row = AfterSalesRequest(tenant_id=tenant.id, order_id=line.order_id, order_line_id=line.id,
                            customer_id=customer_id, pickup_point_id=line.pickup_point_id, quantity=quantity,
                            reason=reason.value, note=clean_note, photo_urls=clean_urls,
                            status=AfterSalesStatus.REQUESTED.value)
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise fail(ErrorCode.CONFLICT, "This line already has an open after-sales request.",
                   ["lineId"]) from None
    await session.refresh(row)
    leader_user = (await session.execute(
        text("SELECT l.user_id FROM pickup_point p JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
             "WHERE p.tenant_id = :t AND p.id = :p"), {"t": tenant.id, "p": row.pickup_point_id})).scalar_one_or_none()
    # userIds: who is notified in-app (the point's leader), as the relay reads them.
    await emit(session, tenant_id=tenant.id, event="AFTER_SALES_REQUESTED", subject_type="after_sales_request",
               subject_id=row.id, payload=_payload(row, userIds=[str(leader_user)] if leader_user else []))
    return row


async def locked(session: AsyncSession, tenant_id: UUID, request_id: UUID | None) -> AfterSalesRequest:
    row = (await session.execute(select(AfterSalesRequest).where(AfterSalesRequest.tenant_id == tenant_id,
                                                                 AfterSalesRequest.id == request_id)
                                 .with_for_update())).scalar_one_or_none() if request_id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such after-sales request.", ["id"])
    return row


def _must_be_open(row: AfterSalesRequest, to: AfterSalesStatus) -> None:
    if row.status != AfterSalesStatus.REQUESTED.value:
        raise fail(ErrorCode.CONFLICT, msg("aftersales.transition", status=row.status, to=to.value), ["id"])


async def _decide(session: AsyncSession, tenant: TenantInfo, row: AfterSalesRequest, to: AfterSalesStatus,
                  actor: Actor, **values: object) -> AfterSalesRequest:
    decided = (await session.execute(
        text("UPDATE after_sales_request SET status = :s, decided_at = statement_timestamp(), decided_by = :by, "
             "approved_quantity = :q, decision_reason = :r WHERE tenant_id = :t AND id = :id RETURNING decided_at"),
        {"t": tenant.id, "s": to.value, "by": actor.id, "q": values.get("approved_quantity"),
         "r": values.get("decision_reason"), "id": row.id})).scalar_one()
    row.status, row.decided_at, row.decided_by = to.value, decided, actor.id
    row.approved_quantity = values.get("approved_quantity")  # type: ignore[assignment]  # int or None, as given
    row.decision_reason = values.get("decision_reason")  # type: ignore[assignment]  # str or None, as given
    extra = {k: v for k, v in values.items() if k in ("compensation", "couponIds")}
    await emit(session, tenant_id=tenant.id, event=f"AFTER_SALES_{to.value}", subject_type="after_sales_request",
               subject_id=row.id, payload=_payload(row, approvedQuantity=row.approved_quantity,
                                                   decisionReason=row.decision_reason,
                                                   userIds=[str(row.customer_id)], **extra))
    return row


async def approve(session: AsyncSession, *, tenant: TenantInfo, row: AfterSalesRequest, quantity: int | None,
                  actor: Actor, mode: CompensationMode | None = None, template_id: UUID | None = None,
                  template_given: bool = False) -> tuple[AfterSalesRequest, Outcome]:
    """Refunds `quantity` (default: all asked for) through the one refund path, and compensates as
    the tenant says, or as the admin chose (`mode`, `template_id`). A coupon instead of the refund
    that cannot be granted refuses the approval; one on top of the refund is reported, the refund stands."""
    _must_be_open(row, AfterSalesStatus.APPROVED)
    q = row.quantity if quantity is None else quantity
    if not 1 <= q <= row.quantity:
        raise fail(ErrorCode.INVALID, msg("aftersales.approve_range", n=row.quantity), ["quantity"])
    policy = await tenant_policy(session, tenant.id)
    if template_given:
        found = await existing_template(session, tenant.id, template_id)
        if found is None:
            raise fail(ErrorCode.NOT_FOUND, "No such coupon template.", ["couponTemplateId"])
        policy = Policy(policy.mode if mode is None else mode, found)
    elif mode is not None:
        policy = Policy(mode, policy.template_id)
    if template_given and policy.mode is CompensationMode.NONE:
        raise fail(ErrorCode.INVALID, "Choose how to compensate with this coupon template.", ["compensation"])
    affected = [Affected(row.order_line_id, row.order_id, row.customer_id, q)]
    occasion = f"after-sales:{row.id}"
    if policy.instead_of_refund:  # the customer keeps the goods and gets a coupon, no money back
        outcome = await grant(session, tenant=tenant, occasion=occasion, reason=RefundReason(row.reason),
                              policy=policy, lines=affected, request_id=row.id, field_name="couponTemplateId",
                              record_failure=False)
        if outcome.errors:
            raise UserErrors(outcome.errors)
    else:
        try:
            await refund_order_lines(session, tenant=tenant, order_id=row.order_id, lines=[(row.order_line_id, q)],
                                     reason=RefundReason(row.reason), note=row.note, actor=actor)
        except UserErrors:
            # Units of the line were refunded meanwhile by another path: not as many are left.
            raise fail(ErrorCode.CONFLICT, "Not that many units of this line are left to refund.",
                       ["quantity"]) from None
        outcome = await grant(session, tenant=tenant, occasion=occasion, reason=RefundReason(row.reason),
                              policy=policy, lines=affected, request_id=row.id, field_name="couponTemplateId")
    decided = await _decide(session, tenant, row, AfterSalesStatus.APPROVED, actor, approved_quantity=q,
                            compensation=policy.mode.value,
                            couponIds=[global_id.encode("Coupon", c) for c in outcome.coupon_ids])
    return decided, outcome


async def reject(session: AsyncSession, *, tenant: TenantInfo, row: AfterSalesRequest, reason: str,
                 actor: Actor) -> AfterSalesRequest:
    errors = Collector()
    clean = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    _must_be_open(row, AfterSalesStatus.REJECTED)
    return await _decide(session, tenant, row, AfterSalesStatus.REJECTED, actor, decision_reason=clean)


async def cancel(session: AsyncSession, *, tenant: TenantInfo, row: AfterSalesRequest,
                 actor: Actor) -> AfterSalesRequest:
    _must_be_open(row, AfterSalesStatus.CANCELLED)
    return await _decide(session, tenant, row, AfterSalesStatus.CANCELLED, actor)
