"""Sending one delivery: claim it, send it outside any transaction, record the outcome.

Safe to run twice for the same delivery (duplicate messages, a retry job re-enqueueing, two
workers): the claim is a conditional UPDATE, so only one run at a time may send an attempt, a
DELIVERED or FAILED delivery is never sent again, and the outcome is recorded only by the run
that made that attempt. A receiver sees the same `webhook-id` on every attempt and can
de-duplicate the rare resend that follows a crash between sending and recording.
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
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any
from uuid import UUID

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service import global_id
from service.config import get_settings
from service.db import owner_engine, tenant_transaction
from service.notify.messages import render
from service.notify.signing import fingerprint, sign, subscription_secret
from service.notify.webhooks import webhook_id
from service.observability.metrics import observe_delivery

log = logging.getLogger(__name__)

USER_AGENT = "groupbuy-webhooks/1"


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


@dataclass
class Outcome:
    delivered: bool
    status_code: int | None = None
    error: str | None = None
    permanent: bool = False  # retrying cannot help: FAILED now


_CLAIM = text("""
UPDATE delivery SET status = 'SENDING', attempts = attempts + 1,
       claimed_at = clock_timestamp(), last_attempt_at = clock_timestamp()
 WHERE tenant_id = :tenant_id AND id = :id
   AND ((status = 'PENDING' AND next_attempt_at <= clock_timestamp() + interval '1 second')
        OR (status = 'SENDING' AND claimed_at < clock_timestamp() - make_interval(secs => :stuck)))
RETURNING id, attempts, channel, target, subscription_id, outbox_event_id
""")

_DETAILS = text("""
SELECT e.event, e.subject_type, e.subject_id, e.payload, e.created_at, t.slug,
       s.url, s.secret_version, s.secret_fingerprint, s.active
  FROM outbox_event e
  JOIN tenant t ON t.id = e.tenant_id
  LEFT JOIN webhook_subscription s ON s.tenant_id = e.tenant_id AND s.id = :subscription_id
 WHERE e.tenant_id = :tenant_id AND e.id = :event_id
""")

_RECORD = text("""
UPDATE delivery SET status = CAST(:status AS varchar), claimed_at = NULL,
       last_status_code = :code, last_error = :error,
       delivered_at = CASE WHEN CAST(:status AS varchar) = 'DELIVERED' THEN clock_timestamp() END,
       next_attempt_at = clock_timestamp() + make_interval(secs => :delay), enqueued_at = NULL
 WHERE tenant_id = :tenant_id AND id = :id AND status = 'SENDING' AND attempts = :attempt
RETURNING next_attempt_at
""")


async def claim(tenant_id: UUID, delivery_id: UUID, *, engine: AsyncEngine | None = None) -> Claimed | None:
    """Marks the delivery SENDING for one attempt, or None when there is nothing to send now."""
    async with tenant_transaction(tenant_id, engine=engine) as session:
        row = (
            await session.execute(
                _CLAIM,
                {"tenant_id": tenant_id, "id": delivery_id, "stuck": stuck_seconds()},
            )
        ).first()
        if row is None:
            return None
        d = (
            await session.execute(
                _DETAILS,
                {
                    "tenant_id": tenant_id,
                    "event_id": row.outbox_event_id,
                    "subscription_id": row.subscription_id,
                },
            )
        ).one()
    payload = d.payload if isinstance(d.payload, dict) else json.loads(d.payload)
    return Claimed(
        tenant_id=tenant_id,
        id=row.id,
        attempt=row.attempts,
        channel=row.channel,
        target=row.target,
        subscription_id=row.subscription_id,
        event_id=row.outbox_event_id,
        event=d.event,
        subject_type=d.subject_type,
        subject_id=d.subject_id,
        payload=payload,
        event_created_at=d.created_at,
        tenant_slug=d.slug,
        url=d.url,
        secret_version=d.secret_version,
        secret_fingerprint=d.secret_fingerprint,
        subscription_active=d.active,
    )


async def record(claimed: Claimed, outcome: Outcome, *, engine: AsyncEngine | None = None) -> float | None:
    """Stores the attempt's outcome; returns the delay before the next attempt, if there is one."""
    delay = None if outcome.delivered or outcome.permanent else retry_delay(claimed.attempt)
    status = "DELIVERED" if outcome.delivered else ("PENDING" if delay is not None else "FAILED")
    async with tenant_transaction(claimed.tenant_id, engine=engine) as session:
        row = (
            await session.execute(
                _RECORD,
                {
                    "tenant_id": claimed.tenant_id,
                    "id": claimed.id,
                    "attempt": claimed.attempt,
                    "status": status,
                    "code": outcome.status_code,
                    "error": (outcome.error or None) and outcome.error[:1000],
                    "delay": delay or 0.0,
                },
            )
        ).first()
    if row is None:  # another run took the delivery over (we were presumed stuck): it records
        return None
    observe_delivery(claimed.channel, status)
    return delay


async def send(claimed: Claimed) -> Outcome:
    if claimed.channel == "WEBHOOK":
        return await send_webhook(claimed)
    if claimed.channel == "EMAIL":
        return await asyncio.to_thread(send_email, claimed)
    return Outcome(False, error=f"unknown channel {claimed.channel}", permanent=True)


async def deliver(tenant_id: UUID, delivery_id: UUID, *, engine: AsyncEngine | None = None) -> float | None:
    """One attempt if one is due. Returns the delay before the next attempt, if one is needed."""
    claimed = await claim(tenant_id, delivery_id, engine=engine)
    if claimed is None:
        return None
    try:
        outcome = await send(claimed)
    except Exception as e:  # noqa: BLE001 - any failure to send is recorded and retried
        log.exception("delivery %s failed unexpectedly", delivery_id)
        outcome = Outcome(False, error=f"{type(e).__name__}: {e}")
    return await record(claimed, outcome, engine=engine)


# -- webhooks ----------------------------------------------------------------------------------


# Payload keys whose GraphQL type is not their name: accounts are `User` nodes.
_KEY_TYPES = {"customer": "User", "user": "User", "createdBy": "User"}


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
    return data


def webhook_body(claimed: Claimed) -> bytes:
    """The same bytes on every attempt: only the timestamp header and signature change."""
    message = {
        "type": claimed.event,
        "timestamp": claimed.event_created_at.isoformat(),
        "data": webhook_data(claimed),
    }
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"), default=str).encode()


_http_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, httpx.AsyncClient] = (
    weakref.WeakKeyDictionary()
)


def _http_client() -> httpx.AsyncClient:
    """One client per event loop (in a worker: per process), not one per delivery: building a
    client (its TLS context, its pool) cost more CPU than the delivery itself, and a kept-alive
    connection to a receiver is reused."""
    loop = asyncio.get_running_loop()
    client = _http_clients.get(loop)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        _http_clients[loop] = client
    return client


async def send_webhook(claimed: Claimed) -> Outcome:
    if claimed.url is None or claimed.secret_version is None:
        return Outcome(False, error="the subscription no longer exists", permanent=True)
    if not claimed.subscription_active:
        return Outcome(False, error="the subscription is inactive", permanent=True)
    assert claimed.subscription_id is not None
    secret = subscription_secret(claimed.subscription_id, claimed.secret_version)
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
    timeout = get_settings().delivery_timeout_seconds
    try:
        response = await _http_client().post(
            claimed.url, content=body, headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        )
    except httpx.HTTPError as e:
        return Outcome(False, error=f"{type(e).__name__}: {e}"[:1000])
    if 200 <= response.status_code < 300:
        return Outcome(True, status_code=response.status_code)
    return Outcome(False, status_code=response.status_code, error=f"HTTP {response.status_code}")


# -- e-mail ------------------------------------------------------------------------------------


def email_message(claimed: Claimed) -> EmailMessage:
    s = get_settings()
    title, body = render(claimed.event, claimed.payload)
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = s.smtp_from
    message["To"] = claimed.target
    message["Date"] = formatdate(localtime=False)
    # Stable per delivery: a mail system that sees a resend can drop it.
    message["Message-ID"] = f"<{claimed.id}@{claimed.tenant_slug}.groupbuy>"
    message.set_content(body + "\n", charset="utf-8")
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
SELECT id FROM delivery
 WHERE tenant_id = :tenant_id AND (
       (status = 'PENDING' AND next_attempt_at <= clock_timestamp()
        AND (enqueued_at IS NULL
             OR GREATEST(enqueued_at, next_attempt_at) < clock_timestamp() - make_interval(secs => :requeue)))
    OR (status = 'SENDING' AND claimed_at < clock_timestamp() - make_interval(secs => :stuck)))
 ORDER BY next_attempt_at LIMIT :limit
""")

_MARK_ENQUEUED = text("""
UPDATE delivery SET enqueued_at = clock_timestamp()
 WHERE tenant_id = :tenant_id AND id = ANY(CAST(:ids AS uuid[])) AND status = 'PENDING'
""")

_TENANTS_WITH_DUE_DELIVERIES = text("""
SELECT DISTINCT tenant_id FROM delivery
 WHERE status IN ('PENDING', 'SENDING') AND next_attempt_at <= clock_timestamp() LIMIT :limit
""")


async def due_deliveries(
    tenant_id: UUID, *, limit: int = 500, engine: AsyncEngine | None = None
) -> list[UUID]:
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
    return [r.id for r in rows]


async def mark_enqueued(tenant_id: UUID, ids: list[UUID], *, engine: AsyncEngine | None = None) -> None:
    if not ids:
        return
    async with tenant_transaction(tenant_id, engine=engine) as session:
        await session.execute(_MARK_ENQUEUED, {"tenant_id": tenant_id, "ids": [str(i) for i in ids]})


async def tenants_with_due_deliveries(limit: int = 1000) -> list[UUID]:
    async with owner_engine().connect() as conn:
        return [
            r.tenant_id for r in (await conn.execute(_TENANTS_WITH_DUE_DELIVERIES, {"limit": limit})).all()
        ]
