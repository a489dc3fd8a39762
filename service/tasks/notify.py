"""Notification actors and scheduler jobs (registered in service.tasks.registry): thin wrappers over `service.notify`.

The outbox in PostgreSQL is the record; Redis only carries wake-ups. Every message can be lost
(broker down, restarted without its data) or delivered twice, so:
- `relay-outbox` (scheduler) relays whatever is pending, whether or not a message asked for it;
- `retry-deliveries` (scheduler) re-enqueues deliveries that are due but have no live message;
- actors check the database state before acting (see their docstrings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

import dramatiq

from service.notify import delivery, relay
from service.tasks import broker as _broker  # noqa: F401  (the broker before any actor)

log = logging.getLogger(__name__)

# Per tenant and scheduler tick: 3 × 1,000 events, then the next tenant's turn.
MAX_BATCHES_PER_TICK = 3
# Deliveries per `deliver_batch` message (the actor claims and sends them in smaller chunks).
MESSAGE_SIZE = 128
# A message whose endpoint is busy in its worker process comes back this much later.
DEFER_SECONDS = 1.0


class BadMessage(ValueError):
    """A message whose arguments are not ids: retrying it cannot help."""


def _uuid(value: str) -> UUID:
    try:
        return UUID(str(value))
    except ValueError as e:
        raise BadMessage(f"not an id: {value!r}") from e


@dramatiq.actor(
    queue_name="notify",
    max_retries=10,
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=10 * 60_000,
    throws=(BadMessage,),
)
async def deliver_batch(tenant_id: str, delivery_ids: list[str], endpoint: str | None = None) -> None:
    """Sends one attempt of each of these deliveries that is due (webhooks or e-mails, best all to
    one `endpoint`), in chunks claimed, sent concurrently and recorded together.

    Idempotent: each chunk is claimed with one conditional UPDATE (PENDING and due, or SENDING and
    stuck), so a duplicate message finds nothing to claim, and a DELIVERED or FAILED delivery is
    never sent again. Send failures are recorded in the rows and retried on each delivery's own
    schedule (a delayed message, re-enqueued by `retry-deliveries` if that message is lost);
    dramatiq's retries only cover errors of our own, such as the database being unreachable.
    Deliveries it could not start because their endpoint was busy in this process go back to the
    broker after a short delay.
    """
    tenant = _uuid(tenant_id)
    if not isinstance(delivery_ids, list):
        raise BadMessage(f"not a list of ids: {delivery_ids!r}")
    ids = [_uuid(i) for i in delivery_ids]
    batch = await delivery.deliver_many(tenant, ids, endpoint=endpoint)
    if batch.deferred:
        await enqueue_deliveries(tenant, [(i, endpoint) for i in batch.deferred], delay=DEFER_SECONDS)
    if batch.retries:
        # One message per retry step: the latest delay of a group, so every one of them is due.
        for group in _retry_groups(batch.retries):
            await enqueue_deliveries(tenant, [(i, endpoint) for i, _ in group], delay=max(d for _, d in group))


@dramatiq.actor(
    queue_name="notify",
    max_retries=10,
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=120_000,
    throws=(BadMessage,),
)
async def deliver(tenant_id: str, delivery_id: str) -> None:
    """One attempt of one delivery, if one is due (messages enqueued before `deliver_batch`)."""
    tenant, id_ = _uuid(tenant_id), _uuid(delivery_id)
    delay = await delivery.deliver(tenant, id_)
    if delay is not None:
        await enqueue_deliveries(tenant, [(id_, None)], delay=delay)


def _retry_groups(retries: list[tuple[UUID, float]]) -> list[list[tuple[UUID, float]]]:
    """Retries whose delays are within 25% of each other share a message (the jitter is ±20%)."""
    groups: list[list[tuple[UUID, float]]] = []
    for item in sorted(retries, key=lambda r: r[1]):
        if groups and item[1] <= groups[-1][0][1] * 1.25 + 0.01:
            groups[-1].append(item)
        else:
            groups.append([item])
    return groups


@dramatiq.actor(
    queue_name="notify",
    max_retries=5,
    min_backoff=1_000,
    max_backoff=30_000,
    time_limit=120_000,
    throws=(BadMessage,),
)
async def relay_tenant_outbox(tenant_id: str, helper: bool = False) -> None:
    """Relays one tenant's pending outbox events now (sent right after a commit that wrote some).
    When its first batch is full (a big close), it asks one `helper` run to relay alongside.

    Idempotent: the relay locks pending events (SKIP LOCKED), inserts notifications and deliveries
    with ON CONFLICT DO NOTHING on their unique keys and marks the events relayed in the same
    transaction; a second run finds nothing pending, two runs take different events. Lost
    messages are covered by `relay-outbox`.
    """
    tenant = _uuid(tenant_id)
    await relay_now(tenant, on_full_batch=None if helper else lambda: request_relay(tenant, helper=True))


async def enqueue_deliveries(
    tenant_id: UUID,
    deliveries: Iterable[tuple[UUID, str | None]],
    *,
    delay: float | None = None,
) -> int:
    """Puts `deliver_batch` messages in the broker: the deliveries grouped by endpoint, up to
    MESSAGE_SIZE per message, then marks them enqueued. A broker outage is logged, not raised: the
    deliveries stay PENDING with no message and `retry-deliveries` sends them later."""
    groups: dict[str | None, list[UUID]] = {}
    for id_, endpoint in deliveries:
        groups.setdefault(endpoint, []).append(id_)
    if not groups:
        return 0
    options: dict[str, Any] = {"delay": int(delay * 1000)} if delay else {}

    def send_all() -> list[UUID]:
        sent: list[UUID] = []
        for endpoint, ids in groups.items():
            for start in range(0, len(ids), MESSAGE_SIZE):
                chunk = ids[start:start + MESSAGE_SIZE]
                try:
                    deliver_batch.send_with_options(
                        args=(str(tenant_id), [str(i) for i in chunk], endpoint), **options)
                except Exception as e:  # noqa: BLE001 - any broker failure: retry-deliveries will resend
                    log.warning("could not enqueue %s deliveries (%s); they will be re-enqueued later",
                                len(chunk), e)
                    return sent
                sent += chunk
        return sent

    sent = await asyncio.to_thread(send_all)
    await delivery.mark_enqueued(tenant_id, sent)
    return len(sent)


async def relay_now(
    tenant_id: UUID,
    *,
    max_batches: int | None = None,
    on_full_batch: Callable[[], Awaitable[None]] | None = None,
) -> relay.Relayed:
    """Relays one tenant's pending events and enqueues each batch's new deliveries after its
    commit, so sending starts while the next batch is relayed. `on_full_batch` runs once, after
    the first batch that was full (more events are probably waiting)."""
    pending = on_full_batch

    async def enqueue(batch: relay.Relayed) -> None:
        nonlocal pending
        if pending is not None and batch.events >= relay.BATCH_SIZE:
            helper, pending = pending, None
            await helper()
        await enqueue_deliveries(tenant_id, batch.deliveries)

    return await relay.relay_tenant(tenant_id, max_batches=max_batches, after_batch=enqueue)


async def request_relay(tenant_id: UUID, *, helper: bool = False) -> None:
    """For a domain that just committed events (call it after the commit): a worker relays them
    now instead of at the scheduler's next tick. Best effort — the scheduler relays anyway, so a
    broker outage here loses nothing."""
    try:
        args = (str(tenant_id), True) if helper else (str(tenant_id),)
        await asyncio.to_thread(relay_tenant_outbox.send, *args)
    except Exception as e:  # noqa: BLE001
        log.warning("could not request an outbox relay for %s (%s)", tenant_id, e)


async def relay_outbox() -> int:
    """Every tenant's pending outbox events → notifications and deliveries; returns events relayed."""
    total = 0
    for tenant_id in await relay.tenants_with_pending_events():
        try:
            total += (await relay_now(tenant_id, max_batches=MAX_BATCHES_PER_TICK)).events
        except Exception:  # noqa: BLE001 - one tenant's failure must not hold up the others
            log.exception("relaying the outbox of tenant %s failed", tenant_id)
    return total


async def retry_deliveries() -> int:
    """Re-enqueues due deliveries that have no live message (enqueue failed, message lost, worker died)."""
    total = 0
    for tenant_id in await delivery.tenants_with_due_deliveries():
        try:
            total += await enqueue_deliveries(tenant_id, await delivery.due_deliveries(tenant_id))
        except Exception:  # noqa: BLE001
            log.exception("re-enqueueing the deliveries of tenant %s failed", tenant_id)
    return total
