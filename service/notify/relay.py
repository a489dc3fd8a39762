"""The outbox relay: pending events → in-app notifications and delivery rows, once.

Per tenant, in ONE transaction: lock a batch of pending events (FOR UPDATE SKIP LOCKED, so two
relays never take the same event), insert their notifications and deliveries (unique keys with
ON CONFLICT DO NOTHING, so a relay repeated after a crash adds nothing), and mark them relayed.
The ids of the deliveries created are returned: the caller enqueues them after the commit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.config import get_settings
from service.db import owner_engine, tenant_transaction
from service.notify.messages import render
from service.notify.recipients import EMAIL_RECIPIENTS, IN_APP_RECIPIENTS

BATCH_SIZE = 200

_PENDING = text(
    "SELECT id, event, payload FROM outbox_event "
    "WHERE tenant_id = :tenant_id AND relayed_at IS NULL "
    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
)

_NOTIFY = text(f"""
INSERT INTO notification (tenant_id, id, user_id, outbox_event_id, event, title, body, created_at)
SELECT e.tenant_id, gen_random_uuid(), r.user_id, e.id, e.event, t.title, t.body, e.created_at
  FROM ({IN_APP_RECIPIENTS}) AS r
  JOIN outbox_event e ON e.tenant_id = :tenant_id AND e.id = r.event_id
  JOIN unnest(CAST(:ids AS uuid[]), CAST(:titles AS text[]), CAST(:bodies AS text[]))
       AS t(event_id, title, body)
    ON t.event_id = e.id
  JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = r.user_id AND u.disabled_at IS NULL
ON CONFLICT (tenant_id, outbox_event_id, user_id) DO NOTHING
""")

# A subscription hears of the events written after it was created, if it is active and asked for them.
_WEBHOOKS = text("""
INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target, subscription_id)
SELECT e.tenant_id, gen_random_uuid(), e.id, 'WEBHOOK', CAST(s.id AS text), s.id
  FROM outbox_event e
  JOIN webhook_subscription s
    ON s.tenant_id = e.tenant_id AND s.active AND e.event = ANY(s.events) AND s.created_at <= e.created_at
 WHERE e.tenant_id = :tenant_id AND e.id = ANY(CAST(:ids AS uuid[]))
ON CONFLICT (tenant_id, outbox_event_id, channel, target) DO NOTHING
RETURNING id
""")

_EMAILS = text(f"""
INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target)
SELECT :tenant_id, gen_random_uuid(), r.event_id, 'EMAIL', r.address
  FROM ({EMAIL_RECIPIENTS}) AS r
ON CONFLICT (tenant_id, outbox_event_id, channel, target) DO NOTHING
RETURNING id
""")

_MARK_RELAYED = text(
    "UPDATE outbox_event SET relayed_at = clock_timestamp(), attempts = attempts + 1 "
    "WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[]))"
)

# As the owner: which tenants have pending events (ids only; the work is done as the app role).
_TENANTS_WITH_PENDING_EVENTS = text(
    "SELECT DISTINCT tenant_id FROM outbox_event WHERE relayed_at IS NULL LIMIT :limit"
)


@dataclass
class Relayed:
    tenant_id: UUID
    events: int = 0
    delivery_ids: list[UUID] = field(default_factory=list)


async def relay_batch(
    tenant_id: UUID, *, limit: int = BATCH_SIZE, engine: AsyncEngine | None = None
) -> Relayed:
    """Relays up to `limit` pending events of one tenant in one transaction."""
    async with tenant_transaction(tenant_id, engine=engine) as session:
        return await relay_in_session(session, tenant_id=tenant_id, limit=limit)


async def relay_in_session(session: AsyncSession, *, tenant_id: UUID, limit: int = BATCH_SIZE) -> Relayed:
    """The relay's work in the caller's tenant transaction; enqueue the deliveries after its commit."""
    result = Relayed(tenant_id)
    rows = (await session.execute(_PENDING, {"tenant_id": tenant_id, "limit": limit})).all()
    if not rows:
        return result
    ids = [str(r.id) for r in rows]
    texts = [render(r.event, _payload(r.payload)) for r in rows]
    params: dict[str, Any] = {"tenant_id": tenant_id, "ids": ids}
    titles, bodies = [t for t, _ in texts], [b for _, b in texts]
    await session.execute(_NOTIFY, {**params, "titles": titles, "bodies": bodies})
    result.delivery_ids += [r.id for r in (await session.execute(_WEBHOOKS, params)).all()]
    if get_settings().smtp_host:
        result.delivery_ids += [r.id for r in (await session.execute(_EMAILS, params)).all()]
    await session.execute(_MARK_RELAYED, params)
    result.events = len(rows)
    return result


async def relay_tenant(
    tenant_id: UUID, *, engine: AsyncEngine | None = None, max_batches: int | None = None
) -> Relayed:
    """The pending events of one tenant, batch after batch (each batch its own transaction); at most
    `max_batches` so one busy tenant cannot hold up the others (the rest waits for the next tick)."""
    total = Relayed(tenant_id)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        batch = await relay_batch(tenant_id, engine=engine)
        total.events += batch.events
        total.delivery_ids += batch.delivery_ids
        if batch.events < BATCH_SIZE:
            break
    return total


async def tenants_with_pending_events(limit: int = 1000) -> list[UUID]:
    async with owner_engine().connect() as conn:
        return [
            r.tenant_id for r in (await conn.execute(_TENANTS_WITH_PENDING_EVENTS, {"limit": limit})).all()
        ]


def _payload(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = json.loads(value)
    return value if isinstance(value, dict) else {}
