"""Appending to a tenant's chain, and checking it.

Each entry's `hash` is sha256 over its canonical serialisation, which includes `prev_hash`, the
hash of the tenant's previous entry (`seq` - 1). Appends of one tenant are serialised by the lock
on the tenant's row of audit_chain_head, taken by the statement that reads it, so two concurrent
mutations never both extend the same head; it is released when the mutation's transaction ends,
with the entry committed or rolled back along with the change. Two statements per entry.
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

VERSION = 1

# Takes the tenant's next seq and the previous hash, locking the head's row until the transaction
# ends: an append waiting on it reads the head as the one before it committed it.
# The clock is read outside RETURNING: Citus allows only immutable functions there.
_HEAD = text(
    "WITH h AS (INSERT INTO audit_chain_head AS h (tenant_id, seq) VALUES (:tenant, 1) "
    "ON CONFLICT (tenant_id) DO UPDATE SET seq = h.seq + 1 RETURNING h.seq, h.hash) "
    "SELECT h.seq, h.hash, clock_timestamp() AS now FROM h"
)
_INSERT = text(
    "WITH head AS (UPDATE audit_chain_head SET hash = :hash WHERE tenant_id = :tenant_id) "
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
    head = (await session.execute(_HEAD, {"tenant": tenant_id})).one()
    fields: dict[str, Any] = {
        "tenant_id": tenant_id, "seq": head.seq, "id": uuid.uuid4(), "at": head.now,
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


class Walk:
    """A tenant's entries fed in `seq` order, one at a time (a chain may be long): `feed` answers
    the first break it finds, `end` checks the last entry against the chain's head."""

    def __init__(self) -> None:
        self.expected_seq = 1
        self.prev_hash: bytes | None = None

    def feed(self, e: Mapping[str, Any] | Entry) -> Break | None:
        def get(k: str) -> Any:
            return e[k] if isinstance(e, Mapping) else getattr(e, k)

        seq, id = int(get("seq")), get("id")
        if seq != self.expected_seq:
            return Break(seq, id, f"entries {self.expected_seq}..{seq - 1} are missing (a gap before entry {seq})")
        stored_prev = bytes(get("prev_hash")) if get("prev_hash") is not None else None
        if stored_prev != self.prev_hash:
            return Break(seq, id, "its prev_hash is not the previous entry's hash")
        if entry_hash(e) != bytes(get("hash")):
            return Break(seq, id, "its content does not match its hash (edited)")
        self.expected_seq, self.prev_hash = seq + 1, bytes(get("hash"))
        return None

    def end(self, head: tuple[int, bytes | None]) -> Break | None:
        last = self.expected_seq - 1
        if head[0] > last:
            return Break(last + 1, None, f"entries {last + 1}..{head[0]} are missing (deleted at the end)")
        if (bytes(head[1]) if head[1] is not None else None) != self.prev_hash:
            return Break(last, None, "it is not the chain's head (the head's hash differs)")
        return None


def first_break(entries: Iterable[Mapping[str, Any] | Entry],
                head: tuple[int, bytes | None] | None = None) -> Break | None:
    """The first break of a tenant's entries in `seq` order, None when every one is where the
    chain says and the last is the head's (seq, hash) when given."""
    walk = Walk()
    for e in entries:
        found = walk.feed(e)
        if found is not None:
            return found
    return walk.end(head) if head is not None else None
