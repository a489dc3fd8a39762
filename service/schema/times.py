"""Every time the API returns is in the tenant's time zone, with its offset (issue 28): the
DateTime scalar converts on output, whichever way the value was read (the database answers in
UTC; an echoed input keeps the offset it was given)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from strawberry.schema.types.base_scalars import DateTimeDefinition
from strawberry.types.scalar import ScalarDefinition

_zone: ContextVar[ZoneInfo | None] = ContextVar("tenant_zone", default=None)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def enter_tenant_zone(context: Any) -> Token[ZoneInfo | None]:
    """Times serialised from now on are in the request's tenant's zone (UTC without a tenant);
    give the token to `leave_tenant_zone` when the operation ends."""
    principal = getattr(context, "principal", None)
    tenant = getattr(principal, "tenant", None)
    return _zone.set(zone(tenant.timezone) if tenant is not None else None)


def leave_tenant_zone(token: Token[ZoneInfo | None]) -> None:
    _zone.reset(token)


@contextmanager
def tenant_zone(context: Any) -> Iterator[None]:
    """The same, around a block."""
    token = enter_tenant_zone(context)
    try:
        yield
    finally:
        _zone.reset(token)


def serialize(value: datetime) -> str:
    found = _zone.get()
    if found is not None and value.tzinfo is not None:
        value = value.astimezone(found)
    return value.isoformat()


DATETIME = ScalarDefinition(
    name="DateTime",
    description="A date with time, ISO 8601 with its offset. Returned in the tenant's time zone "
                "(2026-12-07T20:00:00+08:00); accepted with any offset.",
    specified_by_url=None,
    serialize=serialize,
    parse_value=DateTimeDefinition.parse_value,
    parse_literal=None,
    origin=datetime,
)
