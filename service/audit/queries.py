"""Reading the log: newest first, filtered, in pages; one entry by id; a tenant's whole chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.audit.chain import Entry

COLUMNS = ("tenant_id, seq, id, at, actor_kind, actor_id, operation, object_id, changes, request_id, "
           "prev_hash, hash")


@dataclass(frozen=True)
class Filter:
    operation: str | None = None
    actor_id: UUID | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _where(tenant_id: UUID, f: Filter) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = ["tenant_id = :tenant"]
    params: dict[str, Any] = {"tenant": tenant_id}
    for column, value in (("operation", f.operation), ("actor_id", f.actor_id), ("object_id", f.object_id)):
        if value is not None:
            clauses.append(f"{column} = :{column}")
            params[column] = value
    if f.since is not None:
        clauses.append("at >= :since")
        params["since"] = f.since
    if f.until is not None:
        clauses.append("at < :until")
        params["until"] = f.until
    return " AND ".join(clauses), params


async def page(
    session: AsyncSession, *, tenant_id: UUID, filter: Filter, first: int, after_id: UUID | None
) -> tuple[list[Entry], bool]:
    """Up to `first` entries, newest first, after the entry `after_id` (a page's last); and
    whether more follow."""
    where, params = _where(tenant_id, filter)
    if after_id is not None:
        where += (" AND seq < coalesce((SELECT a.seq FROM audit_entry a WHERE a.tenant_id = :tenant "
                  "AND a.id = :after), 0)")
        params["after"] = after_id
    params["limit"] = first + 1
    rows = (await session.execute(
        text(f"SELECT {COLUMNS} FROM audit_entry WHERE {where} ORDER BY seq DESC LIMIT :limit"), params
    )).mappings().all()
    entries = [Entry(**dict(r)) for r in rows]
    return entries[:first], len(entries) > first


async def count(session: AsyncSession, *, tenant_id: UUID, filter: Filter) -> int:
    """How many entries match (a page's totalCount)."""
    where, params = _where(tenant_id, filter)
    return int((await session.execute(text(f"SELECT count(*) FROM audit_entry WHERE {where}"), params)).scalar_one())


async def by_ids(session: AsyncSession, *, tenant_id: UUID, ids: list[UUID]) -> dict[UUID, Entry]:
    rows = (await session.execute(
        text(f"SELECT {COLUMNS} FROM audit_entry WHERE tenant_id = :tenant AND id = ANY(:ids)"),
        {"tenant": tenant_id, "ids": ids},
    )).mappings().all()
    return {r["id"]: Entry(**dict(r)) for r in rows}


async def stream(session: AsyncSession, *, tenant_id: UUID, filter: Filter | None = None,
                 newest_first: bool = False, batch: int = 2000) -> AsyncIterator[Entry]:
    """Every entry matching, in `seq` order (or reversed), read in batches."""
    where, params = _where(tenant_id, filter or Filter())
    order = "DESC" if newest_first else "ASC"
    last: int | None = None
    while True:
        bound = "" if last is None else (" AND seq < :last" if newest_first else " AND seq > :last")
        rows = (await session.execute(
            text(f"SELECT {COLUMNS} FROM audit_entry WHERE {where}{bound} ORDER BY seq {order} LIMIT :n"),
            {**params, "last": last, "n": batch},
        )).mappings().all()
        for r in rows:
            yield Entry(**dict(r))
        if len(rows) < batch:
            return
        last = rows[-1]["seq"]
