"""Compensation by coupon for a shortage, damaged goods or an approved after-sales request.

The tenant chooses (tenant.compensation_mode, tenant.compensation_template_id):
- NONE: refunds only;
- COUPON_AND_REFUND: the refund, and a coupon from the template on top;
- COUPON_INSTEAD_OF_REFUND: a coupon, and no money back for the units it stands for. When no
  coupon can be granted (the template ended, ran out, spent its budget, or none is set) the
  customer is refunded after all: nobody goes without both.

One coupon per affected order line and occasion (a short shipment of a purchase order, a delivery
confirmed at a point, an after-sales request), granted through the coupons' grant path (the
template's total quantity and budget hold) with a key of the occasion and line: a repeat or a
concurrent call grants nothing more, and the compensation row is unique per (occasion, line).
A grant that fails rolls back its savepoint only, and is recorded with its error code."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.aftersales.models import RefundReason
from service.coupons.claims import grant_once
from service.errors import Collector, ErrorCode, FieldError, UserErrors
from service.money import from_minor
from service.notify.outbox import emit
from service.tenants.principal import TenantInfo


class CompensationMode(str, Enum):
    NONE = "NONE"
    COUPON_AND_REFUND = "COUPON_AND_REFUND"
    COUPON_INSTEAD_OF_REFUND = "COUPON_INSTEAD_OF_REFUND"


EVENTS = {CompensationMode.COUPON_AND_REFUND: "COUPON_COMPENSATION_GRANTED",
          CompensationMode.COUPON_INSTEAD_OF_REFUND: "COUPON_INSTEAD_OF_REFUND"}


# Why no compensation coupon was granted, by the code recorded.
FAILURES = {
    ErrorCode.NOT_FOUND.value: "No compensation coupon template is set.",
    ErrorCode.COUPON_EXPIRED.value: "The compensation coupon template no longer hands coupons out.",
    ErrorCode.COUPON_EXHAUSTED.value: "The compensation coupons have run out (quantity or budget).",
}


def failure(code: str, field_name: str | None = None) -> FieldError:
    known = code in FAILURES
    return FieldError(ErrorCode(code) if code in ErrorCode.__members__ else ErrorCode.INVALID,
                      FAILURES[code] if known else "No compensation coupon could be granted.",
                      [field_name] if field_name else None)


@dataclass(frozen=True)
class Policy:
    mode: CompensationMode = CompensationMode.NONE
    template_id: UUID | None = None

    @property
    def instead_of_refund(self) -> bool:
        return self.mode is CompensationMode.COUPON_INSTEAD_OF_REFUND


@dataclass(frozen=True)
class Affected:
    """An order line that lost `quantity` units; `kept_minor`: what was paid for them and is not
    refunded (COUPON_INSTEAD_OF_REFUND), else 0."""

    line_id: UUID
    order_id: UUID
    customer_id: UUID
    quantity: int
    kept_minor: int = 0


@dataclass
class Outcome:
    mode: CompensationMode = CompensationMode.NONE
    coupon_ids: list[UUID] = field(default_factory=list)
    errors: list[FieldError] = field(default_factory=list)

    @property
    def granted(self) -> bool:
        return bool(self.coupon_ids) and not self.errors


async def tenant_policy(session: AsyncSession, tenant_id: UUID) -> Policy:
    """Read in the caller's transaction (not the cached TenantInfo): a change applies at once."""
    row = (await session.execute(text("SELECT compensation_mode, compensation_template_id FROM tenant WHERE id = :t"),
                                 {"t": tenant_id})).one()
    return Policy(CompensationMode(row.compensation_mode), row.compensation_template_id)


async def check_settings(session: AsyncSession, errors: Collector, mode: str | None,
                         template_gid: str | None, tenant_id: UUID | None = None) -> dict[str, object]:
    """tenantUpdate's compensation settings: the tenant columns to set (None: unchanged). A mode
    other than NONE needs a template (given now or set before)."""
    values: dict[str, object] = {}
    if mode is None and template_gid is None:
        return values
    if mode is not None:
        values["compensation_mode"] = CompensationMode(mode).value
    if template_gid is not None:
        if template_gid == "":
            values["compensation_template_id"] = None
        else:
            found = await existing_template(session, tenant_id, global_id.decode_as(template_gid, "CouponTemplate"))
            if found is None:
                errors.add(ErrorCode.NOT_FOUND, "No such coupon template.", ["compensationCouponTemplateId"])
            else:
                values["compensation_template_id"] = found
    current = await tenant_policy(session, tenant_id) if tenant_id is not None else Policy()
    mode_after = values.get("compensation_mode", current.mode.value)
    template_after = values.get("compensation_template_id", current.template_id) if template_gid != "" else None
    if mode_after != CompensationMode.NONE.value and template_after is None and not errors.errors:
        errors.add(ErrorCode.INVALID, "Set compensationCouponTemplateId to compensate by coupon.",
                   ["compensationMode" if mode is not None else "compensationCouponTemplateId"])
    return values


async def existing_template(session: AsyncSession, tenant_id: UUID | None, template_id: UUID | None) -> UUID | None:
    if template_id is None or tenant_id is None:
        return None
    return (await session.execute(text("SELECT id FROM coupon_template WHERE tenant_id = :t AND id = :id"),
                                  {"t": tenant_id, "id": template_id})).scalar_one_or_none()


_RECORD = text(
    "INSERT INTO compensation (tenant_id, id, occasion, order_id, order_line_id, customer_id, after_sales_request_id, "
    "reason, mode, quantity, template_id, coupon_id, kept_minor, currency, error_code) "
    "SELECT :t, gen_random_uuid(), :occasion, u.order_id, u.line_id, u.customer_id, :request, :reason, :mode, u.q, "
    ":tpl, u.coupon_id, u.kept, :currency, :error "
    "FROM unnest(CAST(:orders AS uuid[]), CAST(:lines AS uuid[]), CAST(:customers AS uuid[]), CAST(:qs AS int[]), "
    "CAST(:coupons AS uuid[]), CAST(:kept AS bigint[])) AS u(order_id, line_id, customer_id, q, coupon_id, kept) "
    "ON CONFLICT (tenant_id, occasion, order_line_id) DO NOTHING RETURNING order_line_id"
)


async def _record(session: AsyncSession, *, tenant: TenantInfo, occasion: str, reason: RefundReason, policy: Policy,
                  lines: Sequence[Affected], coupons: Sequence[UUID | None], request_id: UUID | None,
                  error: str | None) -> set[UUID]:
    rows = await session.execute(_RECORD, {
        "t": tenant.id, "occasion": occasion, "request": request_id, "reason": reason.value,
        "mode": policy.mode.value, "tpl": policy.template_id, "currency": tenant.currency, "error": error,
        "orders": [a.order_id for a in lines], "lines": [a.line_id for a in lines],
        "customers": [a.customer_id for a in lines], "qs": [a.quantity for a in lines], "coupons": list(coupons),
        "kept": [0 if error else a.kept_minor for a in lines]})
    return set(rows.scalars())


async def grant(session: AsyncSession, *, tenant: TenantInfo, occasion: str, reason: RefundReason, policy: Policy,
                lines: Sequence[Affected], request_id: UUID | None = None, field_name: str = "templateId",
                record_failure: bool = True) -> Outcome:
    """A coupon to the customer of each line, all or none (in a savepoint). A refusal is returned
    (and recorded, unless `record_failure` is False: the caller then refuses as a whole)."""
    outcome = Outcome(mode=policy.mode)
    lines = sorted((a for a in lines if a.quantity > 0), key=lambda a: a.line_id)
    if policy.mode is CompensationMode.NONE or not lines:
        return outcome
    done = set((await session.execute(
        text("SELECT order_line_id FROM compensation WHERE tenant_id = :t AND occasion = :o "
             "AND order_line_id = ANY(:l)"),
        {"t": tenant.id, "o": occasion, "l": [a.line_id for a in lines]})).scalars())
    lines = [a for a in lines if a.line_id not in done]
    if not lines:
        return outcome
    try:
        async with session.begin_nested():
            if policy.template_id is None:
                raise UserErrors([failure(ErrorCode.NOT_FOUND.value, field_name)])
            granted: list[tuple[Affected, Any, bool]] = []
            for a in lines:
                coupon, new = await grant_once(session, tenant_id=tenant.id, template_id=policy.template_id,
                                               customer_id=a.customer_id, key=f"compensation:{occasion}:{a.line_id}")
                granted.append((a, coupon, new))
            recorded = await _record(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy,
                                     lines=lines, coupons=[c.id for _, c, _ in granted], request_id=request_id,
                                     error=None)
    except UserErrors as e:
        outcome.errors = [failure(e.errors[0].code.value, field_name)]
        if record_failure:
            await _record(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy, lines=lines,
                          coupons=[None] * len(lines), request_id=request_id, error=e.errors[0].code.value)
        return outcome
    numbered = await session.execute(text("SELECT id, number FROM customer_order WHERE tenant_id = :t "
                                          "AND id = ANY(:ids)"),
                                     {"t": tenant.id, "ids": list({a.order_id for a in lines})})
    numbers: dict[UUID, str] = {r.id: r.number for r in numbered}
    for a, coupon, new in granted:
        outcome.coupon_ids.append(coupon.id)
        if new and a.line_id in recorded:
            await emit(session, tenant_id=tenant.id, event=EVENTS[policy.mode], subject_type="coupon",
                       subject_id=coupon.id, payload={
                           "couponId": global_id.encode("Coupon", coupon.id),
                           "templateId": global_id.encode("CouponTemplate", coupon.template_id),
                           "customerId": global_id.encode("User", a.customer_id),
                           "orderId": global_id.encode("Order", a.order_id),
                           "lineId": global_id.encode("OrderLine", a.line_id),
                           "number": numbers.get(a.order_id),
                           "afterSalesRequestId": global_id.encode("AfterSalesRequest", request_id)
                           if request_id else None,
                           "reasonCode": reason.value, "mode": policy.mode.value, "quantity": a.quantity,
                           "kept": {"amount": str(from_minor(a.kept_minor, tenant.currency)),
                                    "currency": tenant.currency},
                           "userIds": [str(a.customer_id)]})
    return outcome


_ALLOCATED = text(
    "SELECT a.line_id, l.order_id, o.customer_id, a.q, "
    "CASE WHEN :prepaid THEN line_paid_share(l.unit_price_minor, l.quantity, l.discount_minor, "
    "l.refunded_quantity - a.q, a.q) ELSE 0 END AS kept "
    "FROM shortage_allocation a JOIN order_line l ON l.tenant_id = :t AND l.id = a.line_id "
    "JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id WHERE a.q > 0 ORDER BY a.line_id"
)


async def allocated_lines(session: AsyncSession, *, tenant_id: UUID, prepaid: bool, kept: bool) -> list[Affected]:
    """The lines shortage_allocate() just shorted (its transaction-local table of the last call),
    with what was paid for their units when `kept` (they were taken off without a refund)."""
    rows = (await session.execute(_ALLOCATED, {"t": tenant_id, "prepaid": prepaid and kept})).all()
    return [Affected(r.line_id, r.order_id, r.customer_id, r.q, int(r.kept)) for r in rows]


async def record_failure(session: AsyncSession, *, tenant: TenantInfo, occasion: str, reason: RefundReason,
                         policy: Policy, lines: Sequence[Affected], errors: Sequence[FieldError]) -> None:
    """No coupon for these lines (they were refunded instead): why, once per (occasion, line)."""
    if lines and errors:
        await _record(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy, lines=lines,
                      coupons=[None] * len(lines), request_id=None, error=errors[0].code.value)
