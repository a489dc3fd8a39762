"""Money: integer minor units inside, decimal strings outside."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# ISO 4217 minor units for the currencies whose exponent is not 2.
_EXPONENT = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3, "OMR": 3, "TND": 3}


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency, 2)


def to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion; callers validate the number of decimal places first."""
    return int((amount.scaleb(exponent(currency))).to_integral_value(rounding=ROUND_HALF_UP))


def from_minor(minor: int, currency: str) -> Decimal:
    e = exponent(currency)
    return Decimal(minor).scaleb(-e).quantize(Decimal(1).scaleb(-e))


def round_half_up(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_UP))
