"""Checks on batch and offer input; each error names its field path (e.g. offers.1.price)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from service.errors import Collector, ErrorCode
from service.i18n import msg
from service.validation import money_value

MAX_QUANTITY = 1_000_000


@dataclass(frozen=True)
class OfferSpec:
    """An offer as asked for; `product_id` is None when the client's ID was not a Product ID."""

    product_id: UUID | None
    price: Decimal | str
    stock_limit: int | None = None
    per_customer_limit: int | None = None
    min_group_quantity: int | None = 1
    # 拼团 (service/groupbuys): a group of group_size paid orders; None: the offer sells alone.
    group_size: int | None = None
    group_window_minutes: int | None = None
    group_expiry: str | None = None


@dataclass(frozen=True)
class CleanOffer:
    product_id: UUID
    price_minor: int
    stock_limit: int | None
    per_customer_limit: int | None
    min_group_quantity: int
    group_size: int | None = None
    group_window_minutes: int | None = None
    group_expiry: str | None = None


MIN_GROUP_SIZE, MAX_GROUP_SIZE = 2, 50
MAX_GROUP_WINDOW_MINUTES = 7 * 24 * 60
DEFAULT_GROUP_WINDOW_MINUTES = 24 * 60
GROUP_EXPIRIES = ("REFUND", "SUCCEED_ANYWAY")


def _group_rule(errors: Collector, spec: OfferSpec, field: Sequence[str]) -> tuple[int | None, int | None, str | None]:
    if spec.group_size is None:
        return None, None, None
    if not MIN_GROUP_SIZE <= spec.group_size <= MAX_GROUP_SIZE:
        errors.add(ErrorCode.INVALID, msg("batches.group_size", min=MIN_GROUP_SIZE, max=MAX_GROUP_SIZE),
                   [*field, "groupSize"])
    window = DEFAULT_GROUP_WINDOW_MINUTES if spec.group_window_minutes is None else spec.group_window_minutes
    if not 1 <= window <= MAX_GROUP_WINDOW_MINUTES:
        errors.add(ErrorCode.INVALID, msg("batches.group_window", max=MAX_GROUP_WINDOW_MINUTES),
                   [*field, "groupWindowMinutes"])
    expiry = spec.group_expiry or "REFUND"
    if expiry not in GROUP_EXPIRIES:
        errors.add(ErrorCode.INVALID, "Give REFUND or SUCCEED_ANYWAY.", [*field, "groupExpiry"])
    return spec.group_size, window, expiry


def _limit(errors: Collector, value: int | None, field: Sequence[str]) -> None:
    if value is not None and not 1 <= value <= MAX_QUANTITY:
        errors.add(ErrorCode.INVALID, msg("batches.between_1_and", max=MAX_QUANTITY), field)


def clean_offer(errors: Collector, spec: OfferSpec, field: Sequence[str], currency: str) -> CleanOffer | None:
    f = list(field)
    before = len(errors.errors)
    if spec.product_id is None:
        errors.add(ErrorCode.NOT_FOUND, "No such product.", [*f, "productId"])
    price_minor = money_value(errors, spec.price, [*f, "price"], currency=currency, positive=True)
    _limit(errors, spec.stock_limit, [*f, "stockLimit"])
    _limit(errors, spec.per_customer_limit, [*f, "perCustomerLimit"])
    minimum = 1 if spec.min_group_quantity is None else spec.min_group_quantity
    _limit(errors, minimum, [*f, "minGroupQuantity"])
    if spec.stock_limit is not None and spec.stock_limit >= 1 and minimum > spec.stock_limit:
        errors.add(
            ErrorCode.INVALID,
            "The minimum group quantity cannot exceed the stock limit.",
            [*f, "minGroupQuantity"],
        )
    group_size, group_window, group_expiry = _group_rule(errors, spec, f)
    if len(errors.errors) > before or price_minor is None or spec.product_id is None:
        return None
    return CleanOffer(
        product_id=spec.product_id,
        price_minor=price_minor,
        stock_limit=spec.stock_limit,
        per_customer_limit=spec.per_customer_limit,
        min_group_quantity=minimum,
        group_size=group_size,
        group_window_minutes=group_window,
        group_expiry=group_expiry,
    )


def clean_window(
    errors: Collector, *, opens_at: datetime, closes_at: datetime, pickup_date: date, timezone: str
) -> None:
    naive = [name for name, value in (("opensAt", opens_at), ("closesAt", closes_at)) if value.tzinfo is None]
    for name in naive:
        errors.add(ErrorCode.INVALID, "Give the time with its UTC offset (ISO 8601).", [name])
    if naive:
        return
    if closes_at <= opens_at:
        errors.add(ErrorCode.INVALID, "The cutoff must be after the opening time.", ["closesAt"])
    close_day = closes_at.astimezone(ZoneInfo(timezone)).date()
    if pickup_date < close_day:
        errors.add(
            ErrorCode.INVALID,
            msg("batches.pickup_before_cutoff", day=close_day.isoformat(), timezone=timezone),
            ["pickupDate"],
        )
