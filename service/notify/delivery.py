"""Sending deliveries in chunks: claim a chunk, send it outside any transaction, record the outcomes.

A chunk is up to `WEBHOOK_CHUNK` deliveries (of one endpoint, as the relay and the retry job
group them): ONE statement claims those that are due (row locks taken in id order, so concurrent
claimers neither deadlock nor claim the same attempt), their POSTs go out concurrently on kept-alive
connections, and ONE statement records every outcome. A worker process has at most
`ENDPOINT_CHUNKS` chunks of one endpoint in flight; a message that cannot get a slot soon hands
the rest of its deliveries back to the broker (`Batch.deferred`) instead of holding a worker
thread, so a slow endpoint cannot hold up the others. Nothing waits between the claim and the
send, so an attempt is always sent well within its lease (`stuck_seconds`).

Safe to run twice for the same delivery (duplicate messages, a retry job re-enqueueing, two
workers): the claim is conditional, so only one run at a time may send an attempt, a DELIVERED
or FAILED delivery is never sent again, and the outcome is recorded only by the run that made
that attempt. A receiver sees the same `webhook-id` on every attempt and can de-duplicate the
rare resend that follows a crash between sending and recording.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import smtplib
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service import global_id
from service.config import get_settings
from service.db import app_engine, citus_set_tenant, owner_engine, tenant_transaction
from service.notify import http, netpolicy
from service.notify.payloads import add_money
from service.notify.signing import fingerprint, sign, subscription_secret
from service.notify.templates import in_language, payload_params
from service.notify.webhooks import webhook_id
from service.observability.metrics import observe_delivery

log = logging.getLogger(__name__)

USER_AGENT = "groupbuy-webhooks/1"

# Deliveries claimed, sent concurrently and recorded together: a chunk is two short transactions
# whatever its size, instead of two per delivery.
WEBHOOK_CHUNK = 32
EMAIL_CHUNK = 4  # SMTP sends run in threads: at most this many at once per chunk
# Chunks of one endpoint in flight per worker process: with WEBHOOK_CHUNK, at most 128 concurrent
# requests to one endpoint from one process.
ENDPOINT_CHUNKS = 4
# How long a message waits for its endpoint's slot before handing its deliveries back.
GATE_WAIT_SECONDS = 2.0
# The endpoint key of e-mail deliveries (webhooks use their subscription id).
EMAIL_ENDPOINT = "email"


def stuck_seconds() -> float:
    """How long a SENDING delivery may stay claimed before another run takes it over: never less
    than twice the send timeout, so a slow but live attempt is not sent a second time."""
    s = get_settings()
    return max(s.delivery_stuck_seconds, 2 * s.delivery_timeout_seconds)


def retry_schedule() -> list[float]:
    """Seconds to wait after each failed attempt; once exhausted the delivery is FAILED."""
    raw = get_settings().delivery_retry_schedule
    return [float(x) for x in raw.replace(" ", "").split(",") if x]


def retry_delay(attempt: int) -> float | None:
    """The delay after failed attempt number `attempt` (1-based), with ±20% jitter; None: give up."""
    schedule = retry_schedule()
    if attempt > len(schedule):
        return None
    return schedule[attempt - 1] * random.uniform(0.8, 1.2)


@dataclass
class Claimed:
    tenant_id: UUID
    id: UUID
    attempt: int
    channel: str
    target: str
    subscription_id: UUID | None
    event_id: UUID
    event: str
    subject_type: str
    subject_id: UUID
    payload: dict[str, Any]
    event_created_at: datetime
    tenant_slug: str
    url: str | None
    secret_version: int | None
    secret_fingerprint: str | None
    subscription_active: bool | None
    tenant_timezone: str = "UTC"  # the event's timestamp is sent in it, like the API's times
    # During a rotation's overlap: the previous secret version, which signs as well.
    previous_secret_version: int | None = None
    # An e-mail's subject and text in its recipient's language, rendered at the relay (None: queued
    # before they were, rendered now in the tenant's language).
    language: str | None = None
    title: str | None = None
    body: str | None = None
    tenant_language: str = "zh-CN"


@dataclass
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False  # retrying cannot help: FAILED now


# Locks in id order (concurrent claimers of overlapping chunks wait instead of deadlocking; a row
# taken meanwhile fails the re-checked condition and is left out), then claims and reads the
# details of everything that is due, in one statement.
_CLAIM = text("""
WITH due AS (
  SELECT id FROM delivery
   WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[]))
     AND ((status = 'PENDING' AND next_attempt_at <= statement_timestamp() + interval '1 second')
          OR (status = 'SENDING' AND claimed_at < statement_timestamp() - make_interval(secs => :stuck)))
   ORDER BY id FOR UPDATE
), claimed AS (
  UPDATE delivery d SET status = 'SENDING', attempts = d.attempts + 1,
         claimed_at = statement_timestamp(), last_attempt_at = statement_timestamp()
    FROM due
   WHERE d.tenant_id = :tenant_id AND d.id = due.id
  RETURNING d.id, d.attempts, d.channel, d.target, d.subscription_id, d.outbox_event_id, d.language, d.title,
            d.body
)
SELECT c.id, c.attempts, c.channel, c.target, c.subscription_id, c.outbox_event_id, c.language, c.title, c.body,
       e.event, e.subject_type, e.subject_id, e.payload, e.created_at, t.slug, t.timezone, t.default_language,
       s.url, s.secret_version, s.secret_fingerprint, s.active,
       s.previous_secret_version, s.previous_secret_until > statement_timestamp() AS previous_secret_live
  FROM claimed c
  JOIN outbox_event e ON e.tenant_id = :tenant_id AND e.id = c.outbox_event_id
  JOIN tenant t ON t.id = e.tenant_id
  LEFT JOIN webhook_subscription s ON s.tenant_id = :tenant_id AND s.id = c.subscription_id
""")

# Every outcome of a chunk in one statement; only the run that made the attempt records it.
_RECORD = text("""
UPDATE delivery d SET status = o.status, claimed_at = NULL, last_status_code = o.code, last_error = o.error,
       delivered_at = o.delivered_at, next_attempt_at = o.next_attempt_at, enqueued_at = NULL
  FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:statuses AS varchar[]),
              CAST(:codes AS integer[]), CAST(:errors AS varchar[]), CAST(:delivered AS timestamptz[]),
              CAST(:next AS timestamptz[]))
       AS o(id, attempt, status, code, error, delivered_at, next_attempt_at)
 WHERE d.tenant_id = :tenant_id AND d.id = o.id AND d.status = 'SENDING' AND d.attempts = o.attempt
RETURNING d.id, d.channel, d.status
""")
# The moments come from the database's clock read by the transaction's first statement, as
# values: Citus refuses a clock inside CASE, or added to a column, in an UPDATE.


# A claim or a record lost with the last moments before a database crash means at worst that
# attempt is sent again, with the same webhook-id: no flush to disk is waited for at their commits.
_BOOKKEEPING = text(
    "SELECT set_config('app.tenant_id', :tenant_id, true), set_config('synchronous_commit', 'off', true), "
    "statement_timestamp() AS now"
)


@asynccontextmanager
async def _bookkeeping(
    tenant_id: UUID, engine: AsyncEngine | None
) -> AsyncIterator[tuple[AsyncConnection, datetime]]:
    """A claim's or a record's transaction as the app role in the tenant (a Core connection: the
    ORM session's bookkeeping is not needed for one statement), with the database's clock."""
    async with (engine or app_engine()).begin() as conn:
        now = (await conn.execute(_BOOKKEEPING, {"tenant_id": str(tenant_id)})).one().now
        if get_settings().citus:  # the shards' row-level security must see the tenant too
            await conn.execute(text(citus_set_tenant(tenant_id)))
        yield conn, now


@dataclass
class Batch:
    """What a run of `deliver_many` leaves to the caller to enqueue."""

    retries: list[tuple[UUID, float]] = field(default_factory=list)  # id, seconds until its next attempt
    deferred: list[UUID] = field(default_factory=list)  # not attempted: the endpoint's slots were busy


def _claimed(tenant_id: UUID, r: Any) -> Claimed:
    return Claimed(
        tenant_id=tenant_id,
        id=r.id,
        attempt=r.attempts,
        channel=r.channel,
        target=r.target,
        subscription_id=r.subscription_id,
        event_id=r.outbox_event_id,
        event=r.event,
        subject_type=r.subject_type,
        subject_id=r.subject_id,
        payload=r.payload if isinstance(r.payload, dict) else json.loads(r.payload),
        event_created_at=r.created_at,
        tenant_slug=r.slug,
        url=r.url,
        secret_version=r.secret_version,
        secret_fingerprint=r.secret_fingerprint,
        subscription_active=r.active,
        tenant_timezone=r.timezone,
        previous_secret_version=r.previous_secret_version if r.previous_secret_live else None,
        language=r.language,
        title=r.title,
        body=r.body,
        tenant_language=r.default_language,
    )


async def claim_many(
    tenant_id: UUID, ids: Sequence[UUID], *, engine: AsyncEngine | None = None
) -> list[Claimed]:
    """Marks those of `ids` that are due SENDING for one attempt each; returns them with their details."""
    if not ids:
        return []
    async with _bookkeeping(tenant_id, engine) as (conn, _):
        rows = (
            await conn.execute(
                _CLAIM,
                {"tenant_id": tenant_id, "ids": [str(i) for i in ids], "stuck": stuck_seconds()},
            )
        ).all()
    return [_claimed(tenant_id, r) for r in rows]


async def claim(tenant_id: UUID, delivery_id: UUID, *, engine: AsyncEngine | None = None) -> Claimed | None:
    """Marks the delivery SENDING for one attempt, or None when there is nothing to send now."""
    claimed = await claim_many(tenant_id, [delivery_id], engine=engine)
    return claimed[0] if claimed else None


async def record_many(
    tenant_id: UUID, attempts: Sequence[tuple[Claimed, Outcome]], *, engine: AsyncEngine | None = None
) -> list[tuple[UUID, float]]:
    """Stores the attempts' outcomes; returns (id, delay) of those to be attempted again."""
    if not attempts:
        return []
    ids, numbers, statuses, codes, errors, delays = [], [], [], [], [], []
    retries: dict[UUID, float] = {}
    for claimed, outcome in attempts:
        delay = None if outcome.delivered or outcome.permanent else retry_delay(claimed.attempt)
        ids.append(str(claimed.id))
        numbers.append(claimed.attempt)
        statuses.append("DELIVERED" if outcome.delivered else ("PENDING" if delay is not None else "FAILED"))
        codes.append(outcome.status_code)
        errors.append((outcome.error or None) and outcome.error[:1000])
        delays.append(delay or 0.0)
        if delay is not None:
            retries[claimed.id] = delay
    async with _bookkeeping(tenant_id, engine) as (conn, now):
        rows = (
            await conn.execute(
                _RECORD,
                {"tenant_id": tenant_id, "ids": ids, "attempts": numbers, "statuses": statuses,
                 "codes": codes, "errors": errors,
                 "delivered": [now if st == "DELIVERED" else None for st in statuses],
                 "next": [now + timedelta(seconds=d) for d in delays]},
            )
        ).all()
    # A row not returned was taken over by another run (we were presumed stuck): that run records.
    for r in rows:
        observe_delivery(r.channel, r.status)
    return [(r.id, retries[r.id]) for r in rows if r.id in retries]


async def record(claimed: Claimed, outcome: Outcome, *, engine: AsyncEngine | None = None) -> float | None:
    """Stores the attempt's outcome; returns the delay before the next attempt, if there is one."""
    retries = await record_many(claimed.tenant_id, [(claimed, outcome)], engine=engine)
    return retries[0][1] if retries else None


async def send(claimed: Claimed, secrets: dict[tuple[UUID, int], bytes] | None = None) -> Outcome:
    if claimed.channel == "WEBHOOK":
        return await send_webhook(claimed, secrets)
    if claimed.channel == "EMAIL":
        return await asyncio.get_running_loop().run_in_executor(_email_pool(), send_email, claimed)
    return Outcome(False, error=f"unknown channel {claimed.channel}", permanent=True)


async def _attempt(claimed: Claimed, secrets: dict[tuple[UUID, int], bytes] | None = None) -> Outcome:
    try:
        return await send(claimed, secrets)
    except Exception:  # noqa: BLE001 - any failure to send is recorded and retried
        log.exception("delivery %s failed unexpectedly", claimed.id)
        return Outcome(False, error=netpolicy.FAILED)


async def deliver_chunk(
    tenant_id: UUID, ids: Sequence[UUID], *, engine: AsyncEngine | None = None
) -> list[tuple[UUID, float]]:
    """One attempt of each due delivery of `ids`, sent concurrently; returns (id, delay) of the retries."""
    claimed = await claim_many(tenant_id, ids, engine=engine)
    if not claimed:
        return []
    secrets: dict[tuple[UUID, int], bytes] = {}  # derived once per subscription and chunk
    outcomes = await asyncio.gather(*(_attempt(c, secrets) for c in claimed))
    return await record_many(tenant_id, list(zip(claimed, outcomes, strict=True)), engine=engine)


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def _gate(endpoint: str) -> asyncio.Semaphore:
    gates = _gates.setdefault(asyncio.get_running_loop(), {})
    gate = gates.get(endpoint)
    if gate is None:
        if len(gates) > 10_000:  # endpoints seen long ago and idle now
            for key in [k for k, g in gates.items() if not g.locked()]:
                del gates[key]
        gate = gates[endpoint] = asyncio.Semaphore(ENDPOINT_CHUNKS)
    return gate


async def deliver_many(
    tenant_id: UUID, ids: Sequence[UUID], *, endpoint: str | None = None, engine: AsyncEngine | None = None
) -> Batch:
    """One attempt of each due delivery of `ids` (best all of one `endpoint`: a subscription id or
    EMAIL_ENDPOINT), chunk by chunk. Returns what to enqueue next: retries and deferred ids."""
    ids = list(dict.fromkeys(ids))
    size = EMAIL_CHUNK if endpoint == EMAIL_ENDPOINT else WEBHOOK_CHUNK
    batch = Batch()
    for start in range(0, len(ids), size):
        gate = _gate(endpoint) if endpoint is not None else None
        if gate is not None:
            try:
                await asyncio.wait_for(gate.acquire(), GATE_WAIT_SECONDS)
            except TimeoutError:
                batch.deferred = ids[start:]
                log.info("endpoint %s busy in this process: %s deliveries handed back", endpoint, len(batch.deferred))
                break
        try:
            batch.retries += await deliver_chunk(tenant_id, ids[start:start + size], engine=engine)
        finally:
            if gate is not None:
                gate.release()
    return batch


async def deliver(tenant_id: UUID, delivery_id: UUID, *, engine: AsyncEngine | None = None) -> float | None:
    """One attempt if one is due. Returns the delay before the next attempt, if one is needed."""
    retries = await deliver_chunk(tenant_id, [delivery_id], engine=engine)
    return retries[0][1] if retries else None


# -- webhooks ----------------------------------------------------------------------------------


# Payload keys whose GraphQL type is not their name: accounts are `User` nodes.
_KEY_TYPES = {"customer": "User", "user": "User", "createdBy": "User"}
_KEY_TYPES["sharer"] = "User"  # a sharer is a customer's account


def _type_name(snake_or_camel: str) -> str:
    if snake_or_camel in _KEY_TYPES:
        return _KEY_TYPES[snake_or_camel]
    words = snake_or_camel.replace("-", "_").split("_")
    return "".join(w[:1].upper() + w[1:] for w in words if w)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(w[:1].upper() + w[1:] for w in rest)


def _as_global(type_name: str, value: Any) -> Any:
    try:
        return global_id.encode(type_name, UUID(str(value)))
    except (ValueError, TypeError):
        return value


def webhook_data(claimed: Claimed) -> dict[str, Any]:
    """The event's payload for the outside world: camelCase keys, every id a global ID."""
    data: dict[str, Any] = {
        "tenant": claimed.tenant_slug,
        "subject": {
            "type": _type_name(claimed.subject_type),
            "id": global_id.encode(_type_name(claimed.subject_type), claimed.subject_id),
        },
    }
    for key, value in claimed.payload.items():
        key = _camel(key)
        if key in ("audience", "userIds"):  # routing hints, not part of the event
            continue
        if key.endswith("Ids") and isinstance(value, list):
            data[key] = [_as_global(_type_name(key[:-3]), v) for v in value]
        elif key.endswith("Id") and len(key) > 2:
            data[key] = _as_global(_type_name(key[:-2]), value)
        else:
            data[key] = value
    return add_money(data)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def webhook_body(claimed: Claimed) -> bytes:
    """The same bytes on every attempt: only the timestamp header and signature change."""
    message = {
        "type": claimed.event,
        "timestamp": claimed.event_created_at.astimezone(_zone(claimed.tenant_timezone)).isoformat(),
        "data": webhook_data(claimed),
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode()


_http_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, http.WebhookClient] = (
    weakref.WeakKeyDictionary()
)


def _http_client() -> http.WebhookClient:
    """One client per event loop (in a worker: per process), so connections to a receiver are
    kept alive and reused."""
    loop = asyncio.get_running_loop()
    client = _http_clients.get(loop)
    if client is None or client.closed:
        client = http.WebhookClient()
        _http_clients[loop] = client
    return client


_email_pools: list[ThreadPoolExecutor] = []


def _email_pool() -> ThreadPoolExecutor:
    """SMTP sends (blocking) in their own threads: ENDPOINT_CHUNKS chunks of EMAIL_CHUNK at once."""
    if not _email_pools:
        _email_pools.append(ThreadPoolExecutor(ENDPOINT_CHUNKS * EMAIL_CHUNK, thread_name_prefix="smtp"))
    return _email_pools[0]


def _secret(subscription_id: UUID, version: int, secrets: dict[tuple[UUID, int], bytes] | None) -> bytes:
    key = (subscription_id, version)
    secret = secrets.get(key) if secrets is not None else None
    if secret is None:  # (deriving it reads the server key, from a file unless configured)
        secret = subscription_secret(subscription_id, version)
        if secrets is not None:
            secrets[key] = secret
    return secret


async def send_webhook(claimed: Claimed, secrets: dict[tuple[UUID, int], bytes] | None = None) -> Outcome:
    if claimed.url is None or claimed.secret_version is None:
        return Outcome(False, error="the subscription no longer exists", permanent=True)
    if not claimed.subscription_active:
        return Outcome(False, error="the subscription is inactive", permanent=True)
    assert claimed.subscription_id is not None
    secret = _secret(claimed.subscription_id, claimed.secret_version, secrets)
    if fingerprint(secret) != claimed.secret_fingerprint:
        return Outcome(
            False,
            error="the server's webhook key changed: this subscription cannot be signed",
            permanent=True,
        )
    msg_id = webhook_id(claimed.event_id)
    body = webhook_body(claimed)
    timestamp = int(time.time())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }
    if claimed.previous_secret_version is not None:  # a rotation's overlap: the old secret signs too
        old = _secret(claimed.subscription_id, claimed.previous_secret_version, secrets)
        headers["webhook-signature"] += " " + sign(old, msg_id, timestamp, body)
    timeout = get_settings().delivery_timeout_seconds
    try:
        status = await _http_client().post(
            claimed.url, body, headers, timeout=timeout, connect_timeout=min(timeout, 5.0))
    except http.Refused as e:
        # The tenant sees only that it was refused: which address, or whether a port is open,
        # is for the operator's log.
        log.info("webhook %s refused by the network policy: %s", claimed.id, e)
        return Outcome(False, error=netpolicy.REFUSED, permanent=True)
    except http.HTTPError as e:
        log.info("webhook %s failed: %s: %s", claimed.id, type(e).__name__, e)
        return Outcome(False, error=netpolicy.FAILED)
    if 200 <= status < 300:
        return Outcome(True, status_code=status)
    return Outcome(False, status_code=status, error=f"HTTP {status}")


# -- e-mail ------------------------------------------------------------------------------------


def email_message(claimed: Claimed) -> EmailMessage:
    s = get_settings()
    language = claimed.language or claimed.tenant_language
    if claimed.title is not None and claimed.body is not None:
        title, body = claimed.title, claimed.body
    else:
        title, body = in_language(claimed.event, payload_params(claimed.payload), language)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = s.smtp_from
    message["To"] = claimed.target
    message["Date"] = formatdate(localtime=False)
    # Stable per delivery: a mail system that sees a resend can drop it.
    message["Message-ID"] = f"<{claimed.id}@{claimed.tenant_slug}.groupbuy>"
    message.set_content(body + "\n", charset="utf-8")
    message["Content-Language"] = language  # after set_content, which clears the Content-* headers
    return message


def send_email(claimed: Claimed) -> Outcome:
    s = get_settings()
    if not s.smtp_host:
        return Outcome(False, error="SMTP is not configured", permanent=True)
    try:
        with smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.delivery_timeout_seconds) as smtp:
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
            smtp.send_message(email_message(claimed))
    except smtplib.SMTPRecipientsRefused as e:
        return Outcome(False, error=f"recipient refused: {e.recipients}"[:1000], permanent=True)
    except smtplib.SMTPResponseException as e:
        return Outcome(
            False,
            status_code=e.smtp_code,
            error=f"SMTP {e.smtp_code}: {e.smtp_error!r}"[:1000],
            permanent=e.smtp_code >= 500,
        )
    except (OSError, smtplib.SMTPException) as e:
        return Outcome(False, error=f"{type(e).__name__}: {e}"[:1000])
    return Outcome(True, status_code=250)


# -- finding work ------------------------------------------------------------------------------

# Due and not in the broker: never enqueued for this attempt, or enqueued long enough ago that
# the message must be lost; or SENDING so long that its worker must have died.
_DUE = text("""
SELECT id, channel, subscription_id FROM delivery
 WHERE tenant_id = :tenant_id AND (
       (status = 'PENDING' AND next_attempt_at <= clock_timestamp()
        AND (enqueued_at IS NULL
             OR GREATEST(enqueued_at, next_attempt_at) < clock_timestamp() - make_interval(secs => :requeue)))
    OR (status = 'SENDING' AND claimed_at < clock_timestamp() - make_interval(secs => :stuck)))
 ORDER BY next_attempt_at LIMIT :limit
""")

_MARK_ENQUEUED = text("""
UPDATE delivery SET enqueued_at = statement_timestamp()
 WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[])) AND status = 'PENDING'
""")

_TENANTS_WITH_DUE_DELIVERIES = text("""
SELECT DISTINCT tenant_id FROM delivery
 WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= clock_timestamp() LIMIT :limit
""")


def endpoint_of(channel: str, subscription_id: UUID | None) -> str:
    """The key deliveries are grouped by into messages and chunks: the subscription, or e-mail."""
    return str(subscription_id) if channel == "WEBHOOK" and subscription_id else EMAIL_ENDPOINT


async def due_deliveries(
    tenant_id: UUID, *, limit: int = 2000, engine: AsyncEngine | None = None
) -> list[tuple[UUID, str]]:
    """Due deliveries with no live message: (id, endpoint)."""
    s = get_settings()
    async with tenant_transaction(tenant_id, engine=engine) as session:
        rows = (
            await session.execute(
                _DUE,
                {
                    "tenant_id": tenant_id,
                    "limit": limit,
                    "requeue": s.delivery_requeue_seconds,
                    "stuck": stuck_seconds(),
                },
            )
        ).all()
    return [(r.id, endpoint_of(r.channel, r.subscription_id)) for r in rows]


async def mark_enqueued(tenant_id: UUID, ids: list[UUID], *, engine: AsyncEngine | None = None) -> None:
    """Records that a message for these deliveries' next attempt is in the broker."""
    if not ids:
        return
    async with tenant_transaction(tenant_id, engine=engine) as session:
        await session.execute(_MARK_ENQUEUED, {"tenant_id": tenant_id, "ids": [str(i) for i in ids]})


async def tenants_with_due_deliveries(limit: int = 1000) -> list[UUID]:
    async with owner_engine().connect() as conn:
        return [
            r.tenant_id for r in (await conn.execute(_TENANTS_WITH_DUE_DELIVERIES, {"limit": limit})).all()
        ]
