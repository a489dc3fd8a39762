"""Writing events to the outbox, in the caller's transaction, for the relay to deliver later."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_INSERT = text(
    "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload) "
    "SELECT :tenant_id, gen_random_uuid(), :event, :subject_type, s.id, CAST(:payload AS jsonb) "
    "FROM unnest(CAST(:ids AS uuid[])) AS s(id)"
)


async def record_events(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    event: str,
    subject_type: str,
    subject_ids: Iterable[UUID],
    payload: dict[str, Any] | None = None,
) -> None:
    """One event per subject (set-based): e.g. ORDER_CANCELLED for every order of a batch."""
    ids = [str(i) for i in subject_ids]
    if not ids:
        return
    await session.execute(
        _INSERT,
        {
            "tenant_id": tenant_id,
            "event": event,
            "subject_type": subject_type,
            "ids": ids,
            "payload": json.dumps(payload or {}, default=str),
        },
    )


async def record_event(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    event: str,
    subject_type: str,
    subject_id: UUID,
    payload: dict[str, Any] | None = None,
) -> None:
    await record_events(
        session,
        tenant_id=tenant_id,
        event=event,
        subject_type=subject_type,
        subject_ids=[subject_id],
        payload=payload,
    )
