"""Writing an event to the outbox, in the caller's transaction (invariant 5).

Every domain writes its events through `emit` / `emit_many`. The relay (`service.notify.relay`)
reads what `payload` carries:

- ORDER_* / REFUND_CREATED: subject "order" (or "refund", whose order is looked up; or an
  `orderId` in the payload) → the order's customer.
- PICK_LIST_READY: `pickupPointId` in the payload (or subject "pickup_point") → that point's leader.
- PURCHASE_ORDER_CREATED: `supplierId` in the payload (or subject "supplier") → the supplier's accounts
  and its contact e-mail.
- BATCH_CANCELLED: subject "batch" → customers with orders in it and the leaders of their points.
- any event: `userIds` in the payload adds those users.
Keys may be camelCase or snake_case; ids in the payload are sent to webhooks as global IDs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import get_settings
from service.notify.events import EVENT_NAMES

_INSERT = text(
    "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload) "
    "SELECT :tenant_id, gen_random_uuid(), :event, :subject_type, s.id, CAST(:payload AS jsonb) "
    "FROM unnest(CAST(:ids AS uuid[])) AS s(id)"
)

_CITUS_ROWS = 500


async def emit(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    event: str,
    subject_type: str,
    subject_id: UUID,
    payload: dict[str, Any] | None = None,
) -> None:
    """One outbox event about one subject, committed (or rolled back) with the caller's change."""
    await emit_many(
        session,
        tenant_id=tenant_id,
        event=event,
        subject_type=subject_type,
        subject_ids=[subject_id],
        payload=payload,
    )


async def emit_many(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    event: str,
    subject_type: str,
    subject_ids: Iterable[UUID],
    payload: dict[str, Any] | None = None,
) -> None:
    """One event per subject, in one statement (e.g. ORDER_CANCELLED for every order of a batch)."""
    if event not in EVENT_NAMES:
        raise ValueError(f"unknown event {event!r}")
    ids = [str(i) for i in subject_ids]
    if not ids:
        return
    params = {"tenant_id": tenant_id, "event": event, "subject_type": subject_type,
              "payload": json.dumps(payload or {}, default=str)}
    if not get_settings().citus:
        await session.execute(_INSERT, {**params, "ids": ids})
        return
    # On Citus an INSERT ... SELECT from no table is copied into the shards, which row-level
    # security refuses: rows of VALUES instead, routed to the tenant's shard.
    for start in range(0, len(ids), _CITUS_ROWS):
        chunk = ids[start:start + _CITUS_ROWS]
        rows = ", ".join(f"(:tenant_id, gen_random_uuid(), :event, :subject_type, CAST(:id{n} AS uuid), "
                         "CAST(:payload AS jsonb))" for n in range(len(chunk)))
        await session.execute(
            text(f"INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload) VALUES {rows}"),
            {**params, **{f"id{n}": i for n, i in enumerate(chunk)}})
