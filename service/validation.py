"""Checks on input values shared by every domain; each adds to a Collector with a field path."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.accounts.phones import phone_value as e164_value
from service.errors import Collector, ErrorCode
from service.i18n import msg
from service.money import exponent, to_minor

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
PHONE_RE = re.compile(r"^\+?[0-9]{6,15}$")
SLUG_RE = re.compile(r"^[a-z0-9-]{3,40}$")


def text_value(
    errors: Collector, value: str | None, field: Sequence[str], *, max_length: int, required: bool = True
) -> str | None:
    if value is None:
        if required:
            errors.add(ErrorCode.INVALID, "This field is required.", field)
        return None
    cleaned = value.strip()
    if required and not cleaned:
        errors.add(ErrorCode.INVALID, "This field cannot be empty.", field)
    elif len(cleaned) > max_length:
        errors.add(ErrorCode.INVALID, msg("input.max_characters", max=max_length), field)
    return cleaned or None


def email_value(errors: Collector, value: str | None, field: Sequence[str]) -> str | None:
    if value is None or not value.strip():
        return None
    cleaned = value.strip().lower()
    if len(cleaned) > 254 or not EMAIL_RE.match(cleaned):
        errors.add(ErrorCode.INVALID, "Not a valid e-mail address.", field)
    return cleaned


def phone_value(errors: Collector, value: str | None, field: Sequence[str]) -> str | None:
    """In E.164, read in the default region (service/accounts/phones.py)."""
    return e164_value(errors, value, field)


def password_value(errors: Collector, value: str, field: Sequence[str]) -> str:
    if len(value) < 8:
        errors.add(ErrorCode.INVALID, "Passwords have at least 8 characters.", field)
    elif len(value) > 256:
        errors.add(ErrorCode.INVALID, "Passwords have at most 256 characters.", field)
    return value


def timezone_value(errors: Collector, value: str, field: Sequence[str]) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        errors.add(ErrorCode.INVALID, "Not an IANA time zone (e.g. Asia/Shanghai).", field)
    return value


def currency_value(errors: Collector, value: str, field: Sequence[str]) -> str:
    cleaned = value.strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", cleaned):
        errors.add(ErrorCode.INVALID, "Not an ISO 4217 currency code (e.g. CNY).", field)
    return cleaned


# Every decimal input goes through decimal_value (money_value and rate_value are its two uses):
# the text is checked for shape and length before Decimal sees it, and the range and scale are
# decided on the exact digits, so no input reaches arithmetic that can raise or overflow.
MAX_DECIMAL_TEXT = 40
_DECIMAL_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# A price or cost per unit, in the currency's major units: with at most 3 decimal places (ISO 4217)
# it is at most 10**9 minor units, so MAX_LINES x MAX_LINE_QUANTITY of it stays far inside bigint.
MAX_MONEY = Decimal(1_000_000)
RATE_PLACES = 4
# A commission rate: the tenant's default and a leader's own rate alike.
MAX_COMMISSION_RATE = Decimal("0.5")


def _places(number: Decimal) -> int:
    """Decimal places without trailing zeros, from the exact digits (no context rounding)."""
    _, digits, exp = number.as_tuple()
    assert isinstance(exp, int)  # finite: the shape was checked
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exp + trailing))


def decimal_value(
    errors: Collector,
    value: Decimal | str | int | None,
    field: Sequence[str],
    *,
    minimum: Decimal,
    maximum: Decimal,
    places: int,
    exclusive_minimum: bool = False,
) -> Decimal | None:
    """A finite decimal in [minimum, maximum] with at most `places` decimal places, or None (and an
    INVALID error at `field`)."""
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > MAX_DECIMAL_TEXT:
        errors.add(ErrorCode.INVALID, msg("input.max_characters", max=MAX_DECIMAL_TEXT), field)
        return None
    if not _DECIMAL_RE.fullmatch(text):  # NaN, Infinity and anything else that is not a plain number
        errors.add(ErrorCode.INVALID, "Not a finite decimal number.", field)
        return None
    number = Decimal(text)  # exact: the constructor does not round, and the shape was checked
    if number < minimum or (exclusive_minimum and number == minimum):
        bound = "input.greater_than" if exclusive_minimum else "input.at_least"
        errors.add(ErrorCode.INVALID, msg(bound, minimum=minimum), field)
        return None
    if number > maximum:
        errors.add(ErrorCode.INVALID, msg("input.at_most", maximum=maximum), field)
        return None
    if _places(number) > places:
        errors.add(ErrorCode.INVALID, msg("input.decimal_places", places=places), field)
        return None
    return number if number else Decimal(0)  # -0 and 0E+9 are 0


def money_value(
    errors: Collector,
    value: Decimal | str | int | None,
    field: Sequence[str],
    *,
    currency: str,
    positive: bool = False,
) -> int | None:
    """A price or cost per unit in `currency`, as integer minor units (None: absent or invalid)."""
    amount = decimal_value(
        errors, value, field, minimum=Decimal(0), exclusive_minimum=positive, maximum=MAX_MONEY,
        places=exponent(currency),
    )
    return None if amount is None else to_minor(amount, currency)


def rate_value(
    errors: Collector,
    value: Decimal | str | int | None,
    field: Sequence[str],
    *,
    maximum: Decimal = MAX_COMMISSION_RATE,
) -> Decimal | None:
    """A rate in [0, maximum] (maximum <= 1) with at most RATE_PLACES decimal places."""
    return decimal_value(errors, value, field, minimum=Decimal(0), maximum=min(maximum, Decimal(1)),
                         places=RATE_PLACES)
