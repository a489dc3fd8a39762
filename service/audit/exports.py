"""The log as CSV for spreadsheets (service/csv_cells.py: UTF-8 BOM, no formulas)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.audit import queries
from service.csv_cells import csv_document

HEADER = ("sequence", "at", "actor_kind", "actor_id", "operation", "object_id", "request_id", "changes")
MAX_ROWS = 100_000


async def audit_csv(session: AsyncSession, *, tenant_id: UUID, filter: queries.Filter) -> bytes:
    """The entries matching, newest first, at most MAX_ROWS of them."""
    rows = []
    async for e in queries.stream(session, tenant_id=tenant_id, filter=filter, newest_first=True):
        actor_type = "ApiKey" if e.actor_kind == "api_key" else "User"
        rows.append((e.seq, e.at.isoformat(), e.actor_kind,
                     global_id.encode(actor_type, e.actor_id) if e.actor_id else None,
                     e.operation, e.object_id, e.request_id, e.changes))
        if len(rows) >= MAX_ROWS:
            break
    return csv_document(HEADER, rows)
