"""What one mutation changed: rows the ORM flushed (read from SQLAlchemy's attribute history
as they are flushed) plus explicit notes from statements written in SQL, then one entry."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import event, inspect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, UOWTransaction

from service.audit import chain
from service.audit.redact import clean
from service.db import set_tenant

SCOPE = "audit_scope"  # the key of the mutation's Scope in session.info


@dataclass
class Scope:
    """One mutation being recorded."""

    operation: str
    arguments: dict[str, Any]
    rows: list[dict[str, Any]] = field(default_factory=list)

    def note(self, table: str, id: Any, op: str, fields: dict[str, Any]) -> None:
        self.rows.append({"table": table, "id": clean(id), "op": op,
                          "fields": {k: clean(v, k) for k, v in fields.items()}})

    def changes(self) -> str:
        body: dict[str, Any] = {"input": {k: clean(v, k) for k, v in self.arguments.items()}}
        if self.rows:
            body["rows"] = self.rows
        return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def note(session: AsyncSession, table: str, id: Any, fields: dict[str, Any], op: str = "update") -> None:
    """For a change written in SQL (the ORM's are seen on their own): `fields` maps each changed
    column to [old, new] (or its value, for an insert). Nothing when no mutation is recorded."""
    scope = session.info.get(SCOPE)
    if scope is not None:
        scope.note(table, id, op, fields)


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    # After the flush the new rows have their keys, and the history still holds what changed.
    scope: Scope | None = session.info.get(SCOPE)
    if scope is None:
        return
    for op, objects in (("insert", session.new), ("update", session.dirty), ("delete", session.deleted)):
        for obj in objects:
            state = inspect(obj)
            mapper = state.mapper
            fields: dict[str, Any] = {}
            for attr in mapper.column_attrs:
                history = state.attrs[attr.key].history
                if op == "insert":
                    value = history.added[0] if history.added else getattr(obj, attr.key, None)
                    if value is not None:
                        fields[attr.key] = value
                elif op == "update" and history.has_changes():
                    fields[attr.key] = [history.deleted[0] if history.deleted else None,
                                        history.added[0] if history.added else None]
            if op == "update" and not fields:
                continue
            ids = mapper.primary_key_from_instance(obj)
            scope.note(str(mapper.persist_selectable.name), ids[-1] if ids else None, op, fields)


async def record(
    session: AsyncSession, scope: Scope, *, tenant_id: UUID, actor_kind: str, actor_id: UUID | None,
    object_id: str | None, request_id: str | None, session_tenant: UUID | None,
) -> chain.Entry:
    """The entry of a mutation that succeeded, in its transaction. `session_tenant` is the tenant
    the transaction is scoped to: a platform mutation may act on another (tenantCreate)."""
    other = session_tenant != tenant_id
    if other:
        await set_tenant(session, tenant_id)
    try:
        return await chain.append(
            session, tenant_id=tenant_id, actor_kind=actor_kind, actor_id=actor_id,
            operation=scope.operation, object_id=object_id, changes=scope.changes(), request_id=request_id,
        )
    finally:
        if other:
            await set_tenant(session, session_tenant)


def input_of(arguments: dict[str, Any]) -> dict[str, Any]:
    """A resolver's keyword arguments but `info`."""
    return {k: v for k, v in arguments.items() if k != "info"}
