"""Webhook subscriptions: create (the secret shown once), list, and their deliveries."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from service.config import get_settings
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.notify.events import EVENT_NAMES
from service.notify.models import Delivery, DeliveryStatus, WebhookSubscription
from service.notify.netpolicy import Policy, Refused, current_policy, normalise_host
from service.notify.signing import fingerprint, shown_secret, subscription_secret

MAX_SUBSCRIPTIONS = 50


@dataclass
class CreatedSubscription:
    subscription: WebhookSubscription
    secret: str  # shown once


def check_url(url: str, errors: Collector, *, policy: Policy | None = None) -> None:
    """https to a public address (plain http only into a network the operator allows), in every
    environment. Refused here: an internal address however it is spelled, localhost, and names of
    internal networks; other names are resolved and checked at each send (service/notify/http.py)."""
    field = ["input", "url"]
    policy = policy or current_policy()
    if len(url) > 2000:
        errors.add(ErrorCode.INVALID, "The URL is too long (2000 characters at most).", field)
        return
    try:
        parts = urlsplit(url)
        host = normalise_host(parts.hostname or "")
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        errors.add(ErrorCode.INVALID, "The URL is not valid.", field)
        return
    if parts.scheme not in ("http", "https"):
        errors.add(ErrorCode.INVALID, "Webhook URLs must use https.", field)
        return
    if not host or parts.username or parts.password:
        errors.add(ErrorCode.INVALID, "The URL needs a host and must not carry credentials.", field)
        return
    plain_http = parts.scheme == "http"
    try:
        addresses = policy.check_host(host, plain_http=plain_http)
    except Refused:
        errors.add(ErrorCode.INVALID, "Webhooks go to public addresses only: this host is refused.", field)
        return
    if plain_http and addresses is None:
        errors.add(ErrorCode.INVALID, "Webhook URLs must use https.", field)


async def create_subscription(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    url: str,
    events: list[str],
    created_by: UUID | None,
) -> CreatedSubscription:
    errors = Collector()
    url = url.strip()
    check_url(url, errors)
    chosen = _clean_events(errors, events)
    count = (
        await session.execute(
            select(func.count())
            .select_from(WebhookSubscription)
            .where(col(WebhookSubscription.tenant_id) == tenant_id)
        )
    ).scalar_one()
    if count >= MAX_SUBSCRIPTIONS:
        errors.add(
            ErrorCode.LIMIT_EXCEEDED, msg("webhooks.max_subscriptions", max=MAX_SUBSCRIPTIONS)
        )
    errors.raise_if_any()
    subscription_id = uuid4()
    secret = subscription_secret(subscription_id, 1)
    subscription = WebhookSubscription(
        tenant_id=tenant_id,
        id=subscription_id,
        url=url,
        events=chosen,
        active=True,
        secret_version=1,
        secret_fingerprint=fingerprint(secret),
        created_by=created_by,
    )
    session.add(subscription)
    await session.flush()
    # created_at from the database clock, so "events after the subscription" compares like with like.
    await session.refresh(subscription)
    return CreatedSubscription(subscription=subscription, secret=shown_secret(secret))


def _clean_events(errors: Collector, events: list[str]) -> list[str]:
    chosen = sorted(set(events))
    if not chosen:
        errors.add(ErrorCode.INVALID, "Choose at least one event.", ["input", "events"])
    elif not set(chosen) <= EVENT_NAMES:
        errors.add(ErrorCode.INVALID, "Unknown event.", ["input", "events"])
    return chosen


async def _for_update(session: AsyncSession, tenant_id: UUID, id: UUID | None) -> WebhookSubscription:
    subscription = (
        await session.execute(
            select(WebhookSubscription)
            .where(col(WebhookSubscription.tenant_id) == tenant_id, col(WebhookSubscription.id) == id)
            .with_for_update()
        )
    ).scalar_one_or_none() if id else None
    if subscription is None:
        raise fail(ErrorCode.NOT_FOUND, "No such webhook subscription.", ["id"])
    return subscription


async def update_subscription(
    session: AsyncSession, *, tenant_id: UUID, id: UUID | None, url: str | None = None,
    events: list[str] | None = None, active: bool | None = None,
) -> WebhookSubscription:
    """Changes what is given. Deactivating stops every delivery not yet sent (they end FAILED);
    a changed URL applies to deliveries not yet sent as well."""
    subscription = await _for_update(session, tenant_id, id)
    errors = Collector()
    if url is not None:
        url = url.strip()
        check_url(url, errors)
    chosen = _clean_events(errors, events) if events is not None else None
    errors.raise_if_any()
    if url is not None:
        subscription.url = url
    if chosen is not None:
        subscription.events = chosen
    if active is not None:
        subscription.active = active
    await session.flush()
    return subscription


MAX_OVERLAP_SECONDS = 30 * 86400


async def rotate_secret(
    session: AsyncSession, *, tenant_id: UUID, id: UUID | None, overlap_seconds: int | None = None
) -> CreatedSubscription:
    """A new secret, shown once. For `overlap_seconds` (default: the server's setting) the old
    one signs as well, so the receiver can switch at its pace; 0 stops it at once. Deliveries not
    yet sent, retries included, are signed with the new one (and the old, during the overlap)."""
    if overlap_seconds is None:
        overlap_seconds = get_settings().webhook_secret_overlap_seconds
    if not 0 <= overlap_seconds <= MAX_OVERLAP_SECONDS:
        raise fail(ErrorCode.INVALID, msg("webhooks.overlap", max=MAX_OVERLAP_SECONDS),
                   ["overlapSeconds"])
    subscription = await _for_update(session, tenant_id, id)
    until = (await session.execute(
        text("SELECT clock_timestamp() + make_interval(secs => :s)"), {"s": overlap_seconds})).scalar_one()
    subscription.previous_secret_version = subscription.secret_version if overlap_seconds else None
    subscription.previous_secret_until = until if overlap_seconds else None
    subscription.secret_version += 1
    secret = subscription_secret(subscription.id, subscription.secret_version)
    subscription.secret_fingerprint = fingerprint(secret)
    await session.flush()
    return CreatedSubscription(subscription=subscription, secret=shown_secret(secret))


async def list_subscriptions(session: AsyncSession, *, tenant_id: UUID) -> list[WebhookSubscription]:
    stmt = (
        select(WebhookSubscription)
        .where(col(WebhookSubscription.tenant_id) == tenant_id)
        .order_by(col(WebhookSubscription.created_at), col(WebhookSubscription.id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def get_subscription(session: AsyncSession, *, tenant_id: UUID, id: UUID) -> WebhookSubscription | None:
    return await session.get(WebhookSubscription, (tenant_id, id))


@dataclass
class DeliveryView:
    delivery: Delivery
    event: str
    webhook_id: str


async def email_deliveries(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    statuses: list[DeliveryStatus] | None,
    to: str | None,
    first: int,
) -> list[DeliveryView]:
    """The tenant's newest `first` e-mails (to one address when `to` is given). E-mail deliveries
    have no subscription, so the subscription index serves them newest first."""
    rows = (
        (
            await session.execute(
                text("""
        SELECT d.*, e.event AS event_name
          FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.outbox_event_id
         WHERE d.tenant_id = :tenant_id AND d.subscription_id IS NULL AND d.channel = 'EMAIL'
           AND (CAST(:statuses AS text[]) IS NULL OR d.status = ANY(CAST(:statuses AS text[])))
           AND (CAST(:to AS text) IS NULL OR lower(d.target) = lower(CAST(:to AS text)))
         ORDER BY d.created_at DESC, d.id DESC LIMIT :first
    """),
                {
                    "tenant_id": tenant_id,
                    "first": first,
                    "statuses": [s.value for s in statuses] if statuses else None,
                    "to": to.strip() if to else None,
                },
            )
        )
        .mappings()
        .all()
    )
    return [_view(row) for row in rows]


def _view(row: Mapping[Any, Any]) -> DeliveryView:
    """A delivery row joined with its event's name (`event_name`)."""
    delivery = Delivery.model_validate({k: row[k] for k in Delivery.model_fields})
    return DeliveryView(delivery=delivery, event=row["event_name"], webhook_id=webhook_id(delivery.outbox_event_id))


async def subscription_deliveries(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    subscription_ids: list[UUID],
    statuses: list[DeliveryStatus] | None,
    first: int,
) -> dict[UUID, list[DeliveryView]]:
    """The newest `first` deliveries of each subscription (one query for all of them)."""
    rows = (
        (
            await session.execute(
                text("""
        SELECT x.* FROM unnest(CAST(:subs AS uuid[])) AS s(id)
        CROSS JOIN LATERAL (
            SELECT d.*, e.event AS event_name
              FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.outbox_event_id
             WHERE d.tenant_id = :tenant_id AND d.subscription_id = s.id
               AND (CAST(:statuses AS text[]) IS NULL OR d.status = ANY(CAST(:statuses AS text[])))
             ORDER BY d.created_at DESC, d.id DESC LIMIT :first) AS x
    """),
                {
                    "tenant_id": tenant_id,
                    "subs": [str(s) for s in subscription_ids],
                    "first": first,
                    "statuses": [s.value for s in statuses] if statuses else None,
                },
            )
        )
        .mappings()
        .all()
    )
    found: dict[UUID, list[DeliveryView]] = {s: [] for s in subscription_ids}
    for row in rows:
        view = _view(row)
        found[view.delivery.subscription_id].append(view)  # type: ignore[index]  # rows were selected by these subscription ids
    return found


async def retry_delivery(session: AsyncSession, *, tenant_id: UUID, id: UUID | None) -> DeliveryView:
    """A FAILED webhook delivery, due again now: one more attempt (the retry sweep sends it within
    seconds), with the same webhook-id; if that fails too it is FAILED again."""
    row = (await session.execute(text("""
        SELECT d.*, e.event AS event_name, s.active AS subscription_active
          FROM delivery d
          JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.outbox_event_id
          LEFT JOIN webhook_subscription s ON s.tenant_id = d.tenant_id AND s.id = d.subscription_id
         WHERE d.tenant_id = :tenant_id AND d.id = :id AND d.channel = 'WEBHOOK'
           FOR UPDATE OF d
    """), {"tenant_id": tenant_id, "id": id})).mappings().first() if id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such webhook delivery.", ["id"])
    if row["status"] != DeliveryStatus.FAILED.value:
        raise fail(ErrorCode.CONFLICT, "Only a failed delivery can be retried.", ["id"])
    if not row["subscription_active"]:
        raise fail(ErrorCode.CONFLICT, "The subscription is switched off: switch it on first.", ["id"])
    updated = (await session.execute(text("""
        UPDATE delivery SET status = 'PENDING', next_attempt_at = statement_timestamp(), enqueued_at = NULL,
               claimed_at = NULL
         WHERE tenant_id = :tenant_id AND id = :id
        RETURNING *
    """), {"tenant_id": tenant_id, "id": id})).mappings().one()
    return _view({**updated, "event_name": row["event_name"]})


def webhook_id(outbox_event_id: UUID) -> str:
    """The `webhook-id` of an event: the same for every attempt and every subscription."""
    return f"msg_{outbox_event_id.hex}"
