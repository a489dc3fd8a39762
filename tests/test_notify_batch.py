"""Deliveries in chunks (service.notify.delivery.deliver_many, the `deliver_batch` actor's work):
each attempt claimed once under concurrent runs, outcomes recorded per delivery, a fixed number of
statements per chunk, a busy endpoint hands its deliveries back, and messages grouped by endpoint."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from service.config import get_settings
from tests.conftest import run_db
from tests.test_notify import deliveries, emit_events, make_world, relay, subscribe
from tests.webhook_sink import WebhookSink


def _paid(order_id: uuid.UUID, n: int) -> list:
    return [("ORDER_PAID", "order", order_id, {"n": i}) for i in range(n)]


def test_concurrent_runs_send_each_attempt_once_and_record_each_outcome(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db,
):
    from service.notify.delivery import deliver_many

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as good, WebhookSink() as bad:
        bad.always_fail = True
        good_sub, good.secret = subscribe(gql, tenant, good.url, ["ORDER_PAID"])
        _, bad.secret = subscribe(gql, tenant, bad.url, ["ORDER_PAID"])
        emit_events(w.tenant_id, _paid(w.order_id, 45))
        relayed = relay(w.tenant_id)
        assert len(relayed.deliveries) == 90
        ids = relayed.delivery_ids

        async def three_runs(engine):  # type: ignore[no-untyped-def]
            # Overlapping, in different orders, both endpoints mixed in one run.
            return await asyncio.gather(
                deliver_many(w.tenant_id, ids, engine=engine),
                deliver_many(w.tenant_id, list(reversed(ids)), engine=engine),
                deliver_many(w.tenant_id, ids[30:] + ids[:30], engine=engine),
            )

        batches = run_db(three_runs)
        assert set(good.delivered().values()) == {1} and len(good.delivered()) == 45
        assert all(r.signature_ok for r in good.snapshot() + bad.snapshot())
        assert sum(bad.attempts().values()) == 45 and set(bad.attempts().values()) == {1}
    rows = deliveries(owner_db, w.tenant_id)
    by_status: dict[tuple[str, int, str | None], int] = {}
    for status, attempts, _, target, error, _ in rows:
        key = (status, attempts, error if target != good_sub else None)
        by_status[key] = by_status.get(key, 0) + 1
    assert by_status == {("DELIVERED", 1, None): 45, ("PENDING", 1, "HTTP 500"): 45}
    # The failed attempts come back for a retry (one run each), the delivered ones do not.
    retried = [i for b in batches for i, _ in b.retries]
    assert len(retried) == len(set(retried)) == 45
    assert all(not b.deferred for b in batches)
    owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE tenant_id = %s", (w.tenant_id,))


def test_a_chunk_takes_the_same_statements_whatever_its_size(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db,
):
    """Claim with details in one statement, record every outcome in one: no N+1 per delivery."""
    from sqlalchemy import event

    from service.notify.delivery import deliver_chunk

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    with WebhookSink() as sink:
        _, sink.secret = subscribe(gql, tenant, sink.url, ["ORDER_PAID"])
        emit_events(w.tenant_id, _paid(w.order_id, 33))
        ids = relay(w.tenant_id).delivery_ids

        def count(chunk: list[uuid.UUID]) -> int:
            seen: list[str] = []

            async def run(engine):  # type: ignore[no-untyped-def]
                event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
                await deliver_chunk(w.tenant_id, chunk, engine=engine)

            run_db(run)
            return len(seen)

        small, large = count(ids[:3]), count(ids[3:])
        assert len(sink.delivered()) == 33
    # Two transactions: tenant + claim, tenant + record; on Citus each also sets the tenant on the shards.
    assert small == large == (6 if get_settings().citus else 4)
    assert {r[0] for r in deliveries(owner_db, w.tenant_id)} == {"DELIVERED"}


def test_a_busy_endpoint_hands_its_deliveries_back_unclaimed(  # type: ignore[no-untyped-def]
    gql, make_tenant, make_customer, owner_db, monkeypatch,
):
    from service.notify import delivery

    monkeypatch.setattr(delivery, "GATE_WAIT_SECONDS", 0.05)
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    subscribe(gql, tenant, "https://hooks.example.com/busy", ["ORDER_PAID"])
    emit_events(w.tenant_id, _paid(w.order_id, 3))
    relayed = relay(w.tenant_id)
    (endpoint,) = {ep for _, ep in relayed.deliveries}

    async def busy(engine):  # type: ignore[no-untyped-def]
        gate = delivery._gate(endpoint)
        for _ in range(delivery.ENDPOINT_CHUNKS):  # every slot taken by other chunks of this endpoint
            await gate.acquire()
        return await delivery.deliver_many(w.tenant_id, relayed.delivery_ids, endpoint=endpoint, engine=engine)

    batch = run_db(busy)
    assert sorted(batch.deferred) == sorted(relayed.delivery_ids) and batch.retries == []
    assert {(r[0], r[1]) for r in deliveries(owner_db, w.tenant_id)} == {("PENDING", 0)}
    owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE tenant_id = %s", (w.tenant_id,))


@pytest.mark.parametrize("broker_fails_after", [None, 2])
def test_messages_group_deliveries_by_endpoint(monkeypatch, broker_fails_after) -> None:  # type: ignore[no-untyped-def]
    from service.notify import delivery
    from service.tasks import notify

    sent: list[tuple[Any, ...]] = []
    marks: list[list[uuid.UUID]] = []

    def send_with_options(*, args: tuple[Any, ...], **options: Any) -> None:
        if broker_fails_after is not None and len(sent) == broker_fails_after:
            raise ConnectionError("broker down")
        sent.append((*args, options))

    async def mark_enqueued(tenant_id, ids, *, engine=None):  # type: ignore[no-untyped-def]
        marks.append(list(ids))

    monkeypatch.setattr(notify.deliver_batch, "send_with_options", send_with_options)
    monkeypatch.setattr(delivery, "mark_enqueued", mark_enqueued)
    tenant = uuid.uuid4()
    a = [uuid.uuid4() for _ in range(300)]
    b = [uuid.uuid4() for _ in range(5)]
    legacy = [uuid.uuid4()]
    items = [(i, "sub-a") for i in a] + [(i, "sub-b") for i in b] + [(i, None) for i in legacy]
    count = asyncio.run(notify.enqueue_deliveries(tenant, items, delay=2.5))
    expected = [("sub-a", a[:128]), ("sub-a", a[128:256]), ("sub-a", a[256:]), ("sub-b", b), (None, legacy)]
    if broker_fails_after is not None:
        expected = expected[:broker_fails_after]
    assert [(m[2], m[1]) for m in sent] == [(ep, [str(i) for i in ids]) for ep, ids in expected]
    assert all(m[0] == str(tenant) and m[3] == {"delay": 2500} for m in sent)
    assert count == sum(len(ids) for _, ids in expected)
    # Only what the broker took is marked enqueued: the rest is the retry job's.
    assert marks == [[i for i, _ in items][:count]]


def test_a_big_relay_asks_for_one_helper(make_tenant, make_customer, owner_db, monkeypatch):  # type: ignore[no-untyped-def]
    """`relay_tenant_outbox` on a backlog: after its first full batch it asks for one helper run
    (which asks for none), and every batch's deliveries are enqueued after its commit."""
    import functools
    import inspect

    from service.notify import relay as relay_module
    from service.tasks import notify

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    emit_events(w.tenant_id, _paid(w.order_id, 2 * relay_module.BATCH_SIZE + 1))
    helpers: list[uuid.UUID] = []
    enqueued: list[int] = []

    async def request_relay(tenant_id, *, helper=False):  # type: ignore[no-untyped-def]
        assert helper
        helpers.append(tenant_id)

    async def enqueue_deliveries(tenant_id, items, *, delay=None):  # type: ignore[no-untyped-def]
        assert delay is None
        enqueued.append(len(list(items)))
        return 0

    monkeypatch.setattr(notify, "request_relay", request_relay)
    monkeypatch.setattr(notify, "enqueue_deliveries", enqueue_deliveries)

    original = relay_module.relay_tenant
    relay_tenant_outbox = inspect.unwrap(notify.relay_tenant_outbox.fn)  # the coroutine, in this loop

    def run(helper: bool) -> None:
        async def go(engine):  # type: ignore[no-untyped-def]
            monkeypatch.setattr(relay_module, "relay_tenant", functools.partial(original, engine=engine))
            await relay_tenant_outbox(str(w.tenant_id), *([True] if helper else []))

        run_db(go)

    run(helper=False)
    assert helpers == [w.tenant_id]  # once, though two batches were full
    assert enqueued == [0, 0, 0]  # three batches (full, full, 1 event), no subscription: nothing to send
    emit_events(w.tenant_id, _paid(w.order_id, 6))
    run(helper=True)
    assert helpers == [w.tenant_id]  # a helper asks for no other
    assert enqueued == [0, 0, 0, 0]
