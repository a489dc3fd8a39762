"""Checks on input values shared by every domain; each adds to a Collector with a field path."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.errors import Collector, ErrorCode

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
        errors.add(ErrorCode.INVALID, f"At most {max_length} characters.", field)
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
    from service.accounts.phones import phone_value as e164_value

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


def decimal_value(
    errors: Collector,
    value: Decimal | str | None,
    field: Sequence[str],
    *,
    minimum: Decimal | None = None,
    maximum: Decimal | None = None,
    places: int | None = None,
    exclusive_minimum: bool = False,
) -> Decimal | None:
    if value is None:
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        errors.add(ErrorCode.INVALID, "Not a decimal number.", field)
        return None
    if not number.is_finite():
        errors.add(ErrorCode.INVALID, "Not a finite number.", field)
        return None
    if minimum is not None and (number < minimum or (exclusive_minimum and number == minimum)):
        bound = "greater than" if exclusive_minimum else "at least"
        errors.add(ErrorCode.INVALID, f"Must be {bound} {minimum}.", field)
    if maximum is not None and number > maximum:
        errors.add(ErrorCode.INVALID, f"Must be at most {maximum}.", field)
    if places is not None and number != number.quantize(Decimal(1).scaleb(-places)):
        errors.add(ErrorCode.INVALID, f"At most {places} decimal places.", field)
    return number
