"""The outbox relay: pending events → in-app notifications and delivery rows, once.

Per tenant, in ONE transaction: lock a batch of pending events (FOR UPDATE SKIP LOCKED, so two
relays never take the same event), insert their notifications and deliveries (unique keys with
ON CONFLICT DO NOTHING, so a relay repeated after a crash adds nothing), and mark them relayed.
The deliveries created are returned (with their endpoint): the caller enqueues them after the commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.config import get_settings
from service.db import owner_engine, tenant_transaction
from service.notify.delivery import EMAIL_ENDPOINT
from service.notify.recipients import EMAIL_RECIPIENTS, IN_APP_RECIPIENTS
from service.notify.templates import in_language, template_params

log = logging.getLogger(__name__)

# Events per relay transaction: fewer, larger transactions kept the relay of a 10,000-leader close
# from being the slowest step of its fan-out (its statements are set-based: cost grows with rows).
BATCH_SIZE = 1000
# An event whose relay failed this many times on its own is left pending (and logged) so it
# cannot hold up the tenant's other events: a poison message, kept for a person to look at.
MAX_RELAY_FAILURES = 5

# `attempts` counts failed relays (and the successful one).
_PENDING = text(
    "SELECT id, event, payload FROM outbox_event "
    "WHERE tenant_id = :tenant_id AND relayed_at IS NULL AND attempts < :max_failures "
    "AND (CAST(:only AS uuid[]) IS NULL OR id = ANY(CAST(:only AS uuid[]))) "
    "ORDER BY created_at, id LIMIT :limit FOR UPDATE SKIP LOCKED"
)
_COUNT_FAILURE = text(
    "UPDATE outbox_event SET attempts = attempts + 1 "
    "WHERE tenant_id = :tenant_id AND id = :id AND relayed_at IS NULL RETURNING attempts"
)
_PENDING_IDS = text(
    "SELECT id FROM outbox_event WHERE tenant_id = :tenant_id AND relayed_at IS NULL "
    "AND attempts < :max_failures ORDER BY created_at, id LIMIT :limit"
)

# The stored title and body are in the recipient's language (theirs, else the tenant's): never both.
_IN_LANGUAGE = "CASE COALESCE({language}, :fallback) WHEN 'en' THEN t.en_{part} ELSE t.zh_{part} END"
_TEXTS = """unnest(CAST(:ids AS uuid[]), CAST(:zh_titles AS text[]), CAST(:zh_bodies AS text[]),
              CAST(:en_titles AS text[]), CAST(:en_bodies AS text[]), CAST(:params AS text[]))
       AS t(event_id, zh_title, zh_body, en_title, en_body, params)"""

_NOTIFY = text(f"""
INSERT INTO notification (tenant_id, id, user_id, outbox_event_id, event, title, body, params, created_at)
SELECT :tenant_id, gen_random_uuid(), r.user_id, r.event_id, r.event,
       {_IN_LANGUAGE.format(language="u.language", part="title")},
       {_IN_LANGUAGE.format(language="u.language", part="body")}, CAST(t.params AS jsonb), r.created_at
  FROM ({IN_APP_RECIPIENTS}) AS r
  JOIN {_TEXTS}
    ON t.event_id = r.event_id
  JOIN app_user u ON u.tenant_id = :tenant_id AND u.id = r.user_id AND u.disabled_at IS NULL
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
RETURNING id, subscription_id
""")

# An address is in the language of the account with that e-mail (a leader's; a supplier's contact who
# also signs in), else the tenant's. The subject and text are rendered here, once.
_EMAILS = text(f"""
INSERT INTO delivery (tenant_id, id, outbox_event_id, channel, target, language, title, body)
SELECT :tenant_id, gen_random_uuid(), r.event_id, 'EMAIL', r.address, COALESCE(a.language, :fallback),
       {_IN_LANGUAGE.format(language="a.language", part="title")},
       {_IN_LANGUAGE.format(language="a.language", part="body")}
  FROM ({EMAIL_RECIPIENTS}) AS r
  JOIN {_TEXTS}
    ON t.event_id = r.event_id
  LEFT JOIN LATERAL (
    SELECT u.language FROM app_user u
     WHERE u.tenant_id = :tenant_id AND lower(u.email) = r.address AND u.language IS NOT NULL LIMIT 1) AS a
    ON true
ON CONFLICT (tenant_id, outbox_event_id, channel, target) DO NOTHING
RETURNING id
""")

_TENANT_LANGUAGE = text("SELECT default_language FROM tenant WHERE id = :tenant_id")

_MARK_RELAYED = text(
    "UPDATE outbox_event SET relayed_at = statement_timestamp(), attempts = attempts + 1 "
    "WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[]))"
)

# As the owner: which tenants have pending events (ids only; the work is done as the app role).
_TENANTS_WITH_PENDING_EVENTS = text(
    "SELECT DISTINCT tenant_id FROM outbox_event WHERE relayed_at IS NULL AND attempts < :max_failures "
    "LIMIT :limit"
)


@dataclass
class Relayed:
    tenant_id: UUID
    events: int = 0
    delivery_ids: list[UUID] = field(default_factory=list)
    # The same deliveries with the endpoint each goes to: messages group them by it.
    deliveries: list[tuple[UUID, str]] = field(default_factory=list)

    def add(self, other: Relayed) -> None:
        self.events += other.events
        self.delivery_ids += other.delivery_ids
        self.deliveries += other.deliveries


async def relay_batch(
    tenant_id: UUID, *, limit: int = BATCH_SIZE, engine: AsyncEngine | None = None
) -> Relayed:
    """Relays up to `limit` pending events of one tenant in one transaction. If that fails, the
    events are relayed one by one, so one event that cannot be relayed delays only itself."""
    try:
        async with tenant_transaction(tenant_id, engine=engine) as session:
            return await relay_in_session(session, tenant_id=tenant_id, limit=limit)
    except Exception:  # noqa: BLE001 - find the culprit below; a database outage fails there too
        log.exception("relaying a batch of tenant %s failed; relaying its events one by one", tenant_id)
    return await _relay_one_by_one(tenant_id, limit=limit, engine=engine)


async def _relay_one_by_one(tenant_id: UUID, *, limit: int, engine: AsyncEngine | None) -> Relayed:
    async with tenant_transaction(tenant_id, engine=engine) as session:
        ids = [r.id for r in (await session.execute(_PENDING_IDS, {
            "tenant_id": tenant_id, "limit": limit, "max_failures": MAX_RELAY_FAILURES})).all()]
    total = Relayed(tenant_id)
    for event_id in ids:
        try:
            async with tenant_transaction(tenant_id, engine=engine) as session:
                one = await relay_in_session(session, tenant_id=tenant_id, only=[event_id])
        except Exception:  # noqa: BLE001 - count it and go on with the next event
            async with tenant_transaction(tenant_id, engine=engine) as session:
                params = {"tenant_id": tenant_id, "id": event_id}
                failures = (await session.execute(_COUNT_FAILURE, params)).scalar()
            log.exception("outbox event %s of tenant %s could not be relayed (failure %s of %s)",
                          event_id, tenant_id, failures, MAX_RELAY_FAILURES)
            continue
        total.add(one)
    return total


async def relay_in_session(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    limit: int = BATCH_SIZE,
    only: list[UUID] | None = None,
) -> Relayed:
    """The relay's work in the caller's tenant transaction; enqueue the deliveries after its commit."""
    result = Relayed(tenant_id)
    rows = (await session.execute(_PENDING, {
        "tenant_id": tenant_id, "limit": limit, "max_failures": MAX_RELAY_FAILURES,
        "only": [str(i) for i in only] if only is not None else None,
    })).all()
    if not rows:
        return result
    ids = [str(r.id) for r in rows]
    found = await template_params(session, tenant_id, ids)
    values = [found.get(i, {}) for i in ids]
    params: dict[str, Any] = {"tenant_id": tenant_id, "ids": ids}
    texts: dict[str, Any] = {"params": [json.dumps(v, ensure_ascii=False) for v in values],
                             "fallback": (await session.execute(_TENANT_LANGUAGE, params)).scalar_one()}
    for lang, prefix in (("zh-CN", "zh"), ("en", "en")):
        rendered = [in_language(r.event, v, lang) for r, v in zip(rows, values, strict=True)]
        texts[f"{prefix}_titles"], texts[f"{prefix}_bodies"] = [t for t, _ in rendered], [b for _, b in rendered]
    await session.execute(_NOTIFY, {**params, **texts})
    result.deliveries += [(r.id, str(r.subscription_id)) for r in (await session.execute(_WEBHOOKS, params)).all()]
    if get_settings().smtp_host:
        emails = (await session.execute(_EMAILS, {**params, **texts})).all()
        result.deliveries += [(r.id, EMAIL_ENDPOINT) for r in emails]
    result.delivery_ids = [i for i, _ in result.deliveries]
    await session.execute(_MARK_RELAYED, params)
    result.events = len(rows)
    return result


async def relay_tenant(
    tenant_id: UUID,
    *,
    engine: AsyncEngine | None = None,
    max_batches: int | None = None,
    after_batch: Callable[[Relayed], Awaitable[None]] | None = None,
) -> Relayed:
    """The pending events of one tenant, batch after batch (each batch its own transaction); at most
    `max_batches` so one busy tenant cannot hold up the others (the rest waits for the next tick).
    `after_batch` runs after each batch's commit (to enqueue its deliveries while the next is relayed)."""
    total = Relayed(tenant_id)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        batch = await relay_batch(tenant_id, engine=engine)
        total.add(batch)
        if after_batch is not None and batch.events:
            await after_batch(batch)
        if batch.events < BATCH_SIZE:
            break
    return total


async def tenants_with_pending_events(limit: int = 1000, *, owner: AsyncEngine | None = None) -> list[UUID]:
    """As the owner (ids only): the tenants with events to relay."""
    async with (owner or owner_engine()).connect() as conn:
        return [
            r.tenant_id for r in (await conn.execute(
                _TENANTS_WITH_PENDING_EVENTS, {"limit": limit, "max_failures": MAX_RELAY_FAILURES})).all()
        ]

