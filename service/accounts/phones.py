"""Phone numbers in one form, E.164, wherever one is stored, looked up or counted.

`13900000101`, `+86 139 0000 0101` and `+86-139-0000-0101` are one number: +8613900000101. A
number without a country code is read in the tenant's region (CN unless the tenant says otherwise).
"""

from __future__ import annotations

from collections.abc import Sequence

import phonenumbers

from service.errors import Collector, ErrorCode

DEFAULT_REGION = "CN"
# Longer input is no phone number; the parser need not see it.
_MAX_INPUT = 40


def normalise_phone(value: str, region: str | None = None) -> str | None:
    """The E.164 form of a valid number, else None."""
    value = value.strip()
    if not value or len(value) > _MAX_INPUT:
        return None
    try:
        number = phonenumbers.parse(value, region or DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return None
    # The parser drops trailing letters ("...102x"); a number that came with them is not one.
    if any(ch.isalpha() for ch in value) or not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_value(
    errors: Collector, value: str | None, field: Sequence[str], region: str | None = None
) -> str | None:
    if value is None or not value.strip():
        return None
    normalised = normalise_phone(value, region)
    if normalised is None:
        errors.add(ErrorCode.INVALID, "Not a valid phone number (e.g. 13900000101 or +86 139 0000 0101).", field)
        return value.strip()[:_MAX_INPUT]
    return normalised
