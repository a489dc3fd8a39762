"""What an audit entry may keep of a value: no secrets, phone numbers masked."""

from __future__ import annotations

import dataclasses
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

REDACTED = "[redacted]"
# Field names (snake or camel case, compared lower-cased) whose values are never kept.
_SECRET = re.compile(r"password|secret|token|hash|signature|salt|code|(^|_)key($|_)|apikey|credential")
_PHONE = re.compile(r"phone|mobile")


def mask_phone(value: str) -> str:
    """+8613912340101 -> +86139****0101: the country, the carrier prefix and the last four."""
    if len(value) <= 8:
        return "****" + value[-4:] if len(value) > 4 else "****"
    return value[:-8] + "****" + value[-4:]


def _name(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def clean(value: Any, key: str = "") -> Any:
    """`value` as JSON-ready data, secrets replaced by a marker and phone numbers masked."""
    name = _name(key)
    if name and _SECRET.search(name):
        return None if value is None else REDACTED
    if value is None or type(value).__name__ == "UnsetType":  # an input field left out
        return None
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return mask_phone(value) if _PHONE.search(name) else value
    if isinstance(value, Enum):
        return clean(value.value, key)
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return REDACTED
    if isinstance(value, dict):
        return {str(k): clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [clean(v, key) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: clean(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    return str(value)
