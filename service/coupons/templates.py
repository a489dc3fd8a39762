"""Coupon templates (admins): kinds, scope, validity, limits, budget, audience; pause and end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.money import exponent, to_minor
from service.tenants.principal import TenantInfo
from service.validation import decimal_value, money_value, text_value

MAX_QUANTITY = 10_000_000
MAX_BUDGET = Decimal(100_000_000)


class CouponKind(str, Enum):
    AMOUNT_OFF = "AMOUNT_OFF"  # 满减: amount off at or above a threshold
    PERCENT_OFF = "PERCENT_OFF"  # a percentage off, with a cap
    UNIT_OFF = "UNIT_OFF"  # amount off one unit of a given offer


class CouponAudience(str, Enum):
    ANYONE = "ANYONE"
    NEW_CUSTOMERS = "NEW_CUSTOMERS"  # no order yet (cancelled ones do not count)
    GROUP_MEMBERS = "GROUP_MEMBERS"  # members of the template's community groups


@dataclass
class TemplateSpec:
    name: str
    kind: CouponKind
    amount_off: Decimal | None = None
    percent_off: Decimal | None = None
    max_discount: Decimal | None = None
    threshold: Decimal | None = None
    offer_ids: Sequence[UUID | None] | None = None
    batch_id: UUID | None = None
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    valid_days_after_claim: int | None = None
    per_customer_limit: int = 1
    total_quantity: int | None = None
    budget: Decimal | None = None
    audience: CouponAudience = CouponAudience.ANYONE
    community_group_ids: Sequence[UUID | None] | None = None
    stacks_with_group_price: bool = False
    batch_given: bool = False  # batch_id None with this: the ID given named no batch


COLUMNS = (
    "tenant_id, id, name, kind, currency, amount_off_minor, percent_off, max_discount_minor, threshold_minor, "
    "batch_id, offer_ids, valid_from, valid_until, valid_days, per_customer_limit, total_quantity, budget_minor, "
    "audience, group_ids, stacks_with_group_price, paused, ended_at, claimed, used, discount_given_minor, "
    "created_at"
)


def _money(errors: Collector, value: Decimal | None, field: str, currency: str, *, maximum: Decimal | None = None
           ) -> int | None:
    """Positive money in `currency`; budgets may pass the per-unit price cap (up to `maximum`)."""
    if maximum is None:
        return money_value(errors, value, [field], currency=currency, positive=True)
    amount = decimal_value(errors, value, [field], minimum=Decimal(0), exclusive_minimum=True, maximum=maximum,
                           places=exponent(currency))
    return None if amount is None else to_minor(amount, currency)


async def _existing_ids(session: AsyncSession, tenant_id: UUID, table: str, ids: Sequence[UUID | None], field: str,
                        errors: Collector) -> list[UUID]:
    wanted = [i for i in ids if i is not None]
    found = set((await session.execute(text(f"SELECT id FROM {table} WHERE tenant_id = :t AND id = ANY(:ids)"),
                                       {"t": tenant_id, "ids": wanted})).scalars())
    for n, i in enumerate(ids):
        if i is None or i not in found:
            errors.add(ErrorCode.NOT_FOUND, "No such offer." if table == "offer" else "No such community group.",
                       [field, str(n)])
    return wanted


async def create_template(session: AsyncSession, *, tenant: TenantInfo, spec: TemplateSpec) -> Any:
    errors = Collector()
    currency = tenant.currency
    name = text_value(errors, spec.name, ["name"], max_length=100)
    amount_off = percent_off = max_discount = None
    if spec.kind in (CouponKind.AMOUNT_OFF, CouponKind.UNIT_OFF):
        if spec.amount_off is None:
            errors.add(ErrorCode.INVALID, "Give the amount off.", ["amountOff"])
        else:
            amount_off = _money(errors, spec.amount_off, "amountOff", currency)
    else:
        if spec.percent_off is None:
            errors.add(ErrorCode.INVALID, "Give the percentage off.", ["percentOff"])
        else:
            percent = decimal_value(errors, spec.percent_off, ["percentOff"], minimum=Decimal(0),
                                    exclusive_minimum=True, maximum=Decimal(100), places=2)
            percent_off = percent
        if spec.max_discount is not None:
            max_discount = _money(errors, spec.max_discount, "maxDiscount", currency)
    threshold = 0
    if spec.threshold is not None:
        threshold = money_value(errors, spec.threshold, ["threshold"], currency=currency) or 0
    if spec.batch_given:
        found = spec.batch_id and (await session.execute(text("SELECT 1 FROM batch WHERE tenant_id = :t AND id = :b"),
                                                         {"t": tenant.id, "b": spec.batch_id})).first()
        if not found:
            errors.add(ErrorCode.NOT_FOUND, "No such batch.", ["batchId"])
    offer_ids = None
    if spec.offer_ids is not None:
        if not spec.offer_ids:
            errors.add(ErrorCode.INVALID, "Name at least one offer, or leave offerIds out.", ["offerIds"])
        offer_ids = await _existing_ids(session, tenant.id, "offer", spec.offer_ids, "offerIds", errors)
    if spec.kind is CouponKind.UNIT_OFF and (spec.offer_ids is None or len(spec.offer_ids) != 1):
        errors.add(ErrorCode.INVALID, "A UNIT_OFF coupon names exactly one offer.", ["offerIds"])
    if spec.valid_days_after_claim is not None:
        if not 1 <= spec.valid_days_after_claim <= 3650:
            errors.add(ErrorCode.INVALID, "Between 1 and 3650 days.", ["validDaysAfterClaim"])
    if spec.valid_from and spec.valid_until and spec.valid_until <= spec.valid_from:
        errors.add(ErrorCode.INVALID, "validUntil must be after validFrom.", ["validUntil"])
    for value, field in ((spec.valid_from, "validFrom"), (spec.valid_until, "validUntil")):
        if value is not None and value.tzinfo is None:
            errors.add(ErrorCode.INVALID, "Give a time zone.", [field])
    if not 1 <= spec.per_customer_limit <= 1000:
        errors.add(ErrorCode.INVALID, "Between 1 and 1000.", ["perCustomerLimit"])
    if spec.total_quantity is not None and not 1 <= spec.total_quantity <= MAX_QUANTITY:
        errors.add(ErrorCode.INVALID, msg("coupons.quantity_range", max=MAX_QUANTITY), ["totalQuantity"])
    budget = None
    if spec.budget is not None:
        budget = _money(errors, spec.budget, "budget", currency, maximum=MAX_BUDGET)
    group_ids = None
    if spec.audience is CouponAudience.GROUP_MEMBERS and not spec.community_group_ids:
        errors.add(ErrorCode.INVALID, "Name the community groups whose members may claim.", ["communityGroupIds"])
    elif spec.community_group_ids is not None:
        group_ids = await _existing_ids(session, tenant.id, "community_group", spec.community_group_ids,
                                        "communityGroupIds", errors)
    errors.raise_if_any()
    return (await session.execute(
        text(f"INSERT INTO coupon_template ({COLUMNS}) VALUES (:t, :id, :name, :kind, :currency, :amount_off, "
             ":percent_off, :max_discount, :threshold, :batch, :offers, :valid_from, :valid_until, :days, :limit, "
             ":total, :budget, :audience, :groups, :stacks, false, NULL, 0, 0, 0, clock_timestamp()) "
             f"RETURNING {COLUMNS}"),
        {"t": tenant.id, "id": uuid4(), "name": name, "kind": spec.kind.value, "currency": currency,
         "amount_off": amount_off, "percent_off": percent_off, "max_discount": max_discount,
         "threshold": threshold, "batch": spec.batch_id, "offers": offer_ids, "valid_from": spec.valid_from,
         "valid_until": spec.valid_until, "days": spec.valid_days_after_claim, "limit": spec.per_customer_limit,
         "total": spec.total_quantity, "budget": budget, "audience": spec.audience.value, "groups": group_ids,
         "stacks": spec.stacks_with_group_price},
    )).one()


async def end_template(session: AsyncSession, *, tenant_id: UUID, template_id: UUID | None,
                       void_claimed: bool) -> Any:
    """Ends claiming. Coupons already claimed stay usable, unless `void_claimed` (the tenant's call):
    then those not reserved or used become VOID, and the others end now, so that one an order
    gives back (cancelled, expired unpaid, refunded) is expired, not usable again; the orders
    holding them keep their discounts."""
    # The clock as a value: Citus refuses a non-immutable function inside coalesce() in an UPDATE.
    now = (await session.execute(text("SELECT statement_timestamp()"))).scalar_one()
    row = (await session.execute(
        text(f"UPDATE coupon_template SET ended_at = coalesce(ended_at, CAST(:now AS timestamptz)) "
             f"WHERE tenant_id = :t AND id = :id RETURNING {COLUMNS}"),
        {"t": tenant_id, "id": template_id, "now": now})).first() if template_id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon template.", ["id"])
    if void_claimed:
        await session.execute(
            text("UPDATE coupon SET status = CASE WHEN status = 'AVAILABLE' THEN 'VOID' ELSE status END, "
                 "valid_until = least(valid_until, CAST(:now AS timestamptz)) "
                 "WHERE tenant_id = :t AND template_id = :id AND status IN ('AVAILABLE', 'RESERVED', 'USED')"),
            {"t": tenant_id, "id": template_id, "now": now})
    return row


async def pause_template(session: AsyncSession, *, tenant_id: UUID, template_id: UUID | None, paused: bool) -> Any:
    row = (await session.execute(
        text(f"UPDATE coupon_template SET paused = :p WHERE tenant_id = :t AND id = :id RETURNING {COLUMNS}"),
        {"t": tenant_id, "id": template_id, "p": paused})).first() if template_id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon template.", ["id"])
    return row


def is_active(row: Any, now: datetime) -> bool:
    """Open for claims now."""
    return (row.ended_at is None and not row.paused
            and (row.total_quantity is None or row.claimed < row.total_quantity)
            and not budget_spent(row)
            and (row.valid_until is None or now < row.valid_until))


def budget_spent(row: Any) -> bool:
    """No discount is left: a coupon claimed now could not be used (until an order gives some back)."""
    return row.budget_minor is not None and row.discount_given_minor >= row.budget_minor
