"""Keyset pagination on (created_at, id): stable under inserts, unlike OFFSET."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar
from uuid import UUID

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.config import get_settings
from service.i18n import msg

R = TypeVar("R")


class Keyed(Protocol):
    """A row that pages: ordered by (created_at, id)."""

    created_at: datetime
    id: UUID


K = TypeVar("K", bound=Keyed)


class BadPage(ValueError):
    """A page request that cannot be served: `first` out of range or a foreign cursor."""


def encode_cursor(created_at: datetime, id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, id = raw.partition("|")
        return datetime.fromisoformat(created), UUID(id)
    except (ValueError, binascii.Error, UnicodeDecodeError) as e:
        raise BadPage(msg("page.bad_cursor")) from e


def check_first(first: int) -> int:
    limit = get_settings().max_page_size
    if first < 1 or first > limit:
        raise BadPage(msg("page.first_range", limit=limit))
    return first


@dataclass
class Page(Generic[R]):
    items: list[R]
    cursors: list[str]
    has_next: bool
    # The whole list's statement (filters, no cursor, order or limit): `totalCount` counts it
    # when asked. None with `total` given, or for a list known to be empty.
    listed: Any = None
    total: int | None = None
    has_previous: bool = False


def count_of(stmt: Any) -> Any:
    """SELECT count(*) of what `stmt` selects."""
    return select(func.count()).select_from(stmt.order_by(None).limit(None).subquery())


async def fetch_page(
    session: AsyncSession, stmt: Select[K], model: type[K], *, first: int, after: str | None,
    descending: bool = False,
) -> Page[K]:
    """`stmt` selects `model` entities; they come back ordered by (created_at, id), newest first
    when `descending`."""
    listed = stmt
    check_first(first)
    key = tuple_(col(model.created_at), col(model.id))
    if after:
        created, id = decode_cursor(after)
        stmt = stmt.where(key < tuple_(created, id) if descending else key > tuple_(created, id))
    if descending:
        stmt = stmt.order_by(col(model.created_at).desc(), col(model.id).desc())
    else:
        stmt = stmt.order_by(col(model.created_at), col(model.id))
    rows = list((await session.execute(stmt.limit(first + 1))).scalars().all())
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(items=rows, cursors=[encode_cursor(r.created_at, r.id) for r in rows], has_next=has_next,
                listed=listed, has_previous=bool(after))
