"""Appending to a tenant's chain, and checking it.

Each entry's `hash` is sha256 over its canonical serialisation, which includes `prev_hash`, the
hash of the tenant's previous entry (`seq` - 1). Appends of one tenant are serialised by a
transaction-scoped advisory lock taken before the chain's head is read, so two concurrent
mutations never both extend the same head; the lock is released when the mutation's transaction
ends, with the entry committed or rolled back along with the change.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

# pg_advisory_xact_lock(class, key): this class is the audit chain's, the key the tenant's hash.
LOCK_CLASS = 7243017
VERSION = 1

_LOCK = text("SELECT pg_advisory_xact_lock(:cls, hashtext(:tenant))")
_HEAD = text(
    "SELECT h.seq, h.hash, clock_timestamp() AS now FROM (SELECT 1) one LEFT JOIN LATERAL "
    "(SELECT seq, hash FROM audit_entry WHERE tenant_id = :tenant ORDER BY seq DESC LIMIT 1) h ON true"
)
_INSERT = text(
    "INSERT INTO audit_entry (tenant_id, seq, id, at, actor_kind, actor_id, operation, object_id, "
    "changes, request_id, prev_hash, hash) VALUES (:tenant_id, :seq, :id, :at, :actor_kind, :actor_id, "
    ":operation, :object_id, :changes, :request_id, :prev_hash, :hash)"
)


@dataclass(frozen=True)
class Entry:
    tenant_id: UUID
    seq: int
    id: UUID
    at: datetime
    actor_kind: str
    actor_id: UUID | None
    operation: str
    object_id: str | None
    changes: str
    request_id: str | None
    prev_hash: bytes | None
    hash: bytes


def canonical(e: Mapping[str, Any] | Entry) -> bytes:
    """The bytes an entry's hash covers: every column but `hash`, in a fixed order and form."""
    def get(k: str) -> Any:
        return e[k] if isinstance(e, Mapping) else getattr(e, k)

    at: datetime = get("at")
    prev = get("prev_hash")
    actor = get("actor_id")
    return json.dumps(
        [VERSION, str(get("tenant_id")), int(get("seq")), str(get("id")),
         at.astimezone(UTC).isoformat(timespec="microseconds"), get("actor_kind"),
         str(actor) if actor else None, get("operation"), get("object_id"), get("changes"),
         get("request_id"), bytes(prev).hex() if prev is not None else None],
        ensure_ascii=False, separators=(",", ":"),
    ).encode()


def entry_hash(e: Mapping[str, Any] | Entry) -> bytes:
    return hashlib.sha256(canonical(e)).digest()


async def append(
    session: AsyncSession, *, tenant_id: UUID, actor_kind: str, actor_id: UUID | None, operation: str,
    object_id: str | None, changes: str, request_id: str | None,
) -> Entry:
    """Adds one entry at the head of the tenant's chain, in the session's transaction (whose
    app.tenant_id must be `tenant_id`: RLS checks it)."""
    await session.execute(_LOCK, {"cls": LOCK_CLASS, "tenant": str(tenant_id)})
    head = (await session.execute(_HEAD, {"tenant": tenant_id})).one()
    fields: dict[str, Any] = {
        "tenant_id": tenant_id, "seq": (head.seq or 0) + 1, "id": uuid.uuid4(), "at": head.now,
        "actor_kind": actor_kind, "actor_id": actor_id, "operation": operation, "object_id": object_id,
        "changes": changes, "request_id": request_id,
        "prev_hash": bytes(head.hash) if head.hash is not None else None,
    }
    fields["hash"] = entry_hash(fields)
    await session.execute(_INSERT, fields)
    return Entry(**fields)


@dataclass(frozen=True)
class Break:
    """The first entry where a chain stops holding, and why."""

    seq: int
    id: UUID | None
    reason: str


def first_break(entries: Iterable[Mapping[str, Any]]) -> Break | None:
    """Walks a tenant's entries in `seq` order: None when every one is where the chain says."""
    expected_seq, prev_hash = 1, None
    for e in entries:
        seq, id = int(e["seq"]), e["id"]
        if seq != expected_seq:
            return Break(seq, id, f"entries {expected_seq}..{seq - 1} are missing (a gap before entry {seq})")
        stored_prev = bytes(e["prev_hash"]) if e["prev_hash"] is not None else None
        if stored_prev != prev_hash:
            return Break(seq, id, "its prev_hash is not the previous entry's hash")
        if entry_hash(e) != bytes(e["hash"]):
            return Break(seq, id, "its content does not match its hash (edited)")
        expected_seq, prev_hash = seq + 1, bytes(e["hash"])
    return None
