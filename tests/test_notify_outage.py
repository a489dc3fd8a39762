"""Invariant 5 under a broker outage: Redis stopped while events are written, started again →
every event delivered, none twice. A private Redis (not the session's) on a fixed port, a real
dramatiq worker process and the scheduler's notification jobs in another process point at it."""

from __future__ import annotations

import uuid

import pytest

from service.embedded import EmbeddedRedis, free_port
from tests.test_notify import FAST_ENV, Processes, emit_events, make_world, subscribe, wait_for
from tests.webhook_sink import WebhookSink


@pytest.fixture
def private_redis(tmp_path):  # type: ignore[no-untyped-def]
    # No persistence: a restart loses every queued message, the worst case for the broker.
    redis = EmbeddedRedis(tmp_path, port=free_port(), persist=False)
    redis.start()
    yield redis
    redis.stop()


def _events(order_id: uuid.UUID, first: int, count: int) -> list:
    return [("ORDER_PAID", "order", order_id, {"n": n}) for n in range(first, first + count)]


def test_redis_outage_delays_deliveries_but_loses_and_duplicates_none(
    gql,
    make_tenant,
    make_customer,
    owner_db,
    private_redis,
    tmp_path,  # type: ignore[no-untyped-def]
):
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    procs = Processes(tmp_path, {**FAST_ENV, "REDIS_URL": private_redis.url()})

    def state(sql: str) -> list:
        return owner_db.execute(sql, (w.tenant_id,)).fetchall()

    restarted: EmbeddedRedis | None = None
    with WebhookSink() as sink:
        _, sink.secret = subscribe(gql, tenant, sink.url, ["ORDER_PAID"])
        try:
            procs.worker()
            procs.scheduler()
            # Before: delivered through the broker as usual.
            emit_events(w.tenant_id, _events(w.order_id, 0, 10))
            wait_for("the first 10 deliveries", lambda: len(sink.delivered()) == 10, processes=procs)

            # During: the broker is down; events keep being written, each batch in its own transaction.
            private_redis.stop()
            for start in range(10, 30, 5):
                emit_events(w.tenant_id, _events(w.order_id, start, 5))
            wait_for(
                "the relay to turn the 20 new events into deliveries",
                lambda: (
                    state(
                        "SELECT count(*) FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id "
                        "AND e.id = d.outbox_event_id WHERE d.tenant_id = %s AND e.relayed_at IS NOT NULL"
                    )[0][0]
                    == 30
                ),
                processes=procs,
            )
            # With no broker, no message could be enqueued: they wait in PostgreSQL.
            waiting = state(
                "SELECT status, enqueued_at FROM delivery WHERE tenant_id = %s AND status <> 'DELIVERED'"
            )
            assert len(waiting) == 20 and {r[0] for r in waiting} == {"PENDING"}
            assert {r[1] for r in waiting} == {None}

            # After: the same Redis address comes back empty; everything pending is delivered.
            restarted = EmbeddedRedis(private_redis.dir.parent, port=private_redis.port, persist=False)
            restarted.start()
            emit_events(w.tenant_id, _events(w.order_id, 30, 10))
            wait_for("all 40 deliveries", lambda: len(sink.delivered()) == 40, timeout=120, processes=procs)
            wait_for(
                "every delivery recorded",
                lambda: (
                    state("SELECT count(*) FROM delivery WHERE tenant_id = %s AND status = 'DELIVERED'")[0][0]
                    == 40
                ),
                processes=procs,
            )
        finally:
            procs.stop_all()
            if restarted is not None:
                restarted.stop()

        delivered = sink.delivered()
    events = state("SELECT id FROM outbox_event WHERE tenant_id = %s")
    assert len(events) == 40
    assert set(delivered) == {f"msg_{r[0].hex}" for r in events}, "every event delivered"
    assert set(delivered.values()) == {1}, "none delivered twice"
    assert len(sink.snapshot()) == 40 and all(r.signature_ok for r in sink.snapshot())
    assert {r[0] for r in state("SELECT attempts FROM delivery WHERE tenant_id = %s")} == {1}


def test_messages_lost_with_the_brokers_data_are_enqueued_again(
    gql,
    make_tenant,
    make_customer,
    owner_db,
    private_redis,
    tmp_path,  # type: ignore[no-untyped-def]
):
    """Enqueued while no worker ran, then Redis restarted empty: the retry job notices the
    overdue deliveries (GROUPBUY_DELIVERY_REQUEUE_SECONDS) and enqueues them again."""
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    procs = Processes(tmp_path, {**FAST_ENV, "REDIS_URL": private_redis.url()})
    restarted: EmbeddedRedis | None = None
    with WebhookSink() as sink:
        _, sink.secret = subscribe(gql, tenant, sink.url, ["ORDER_PAID"])
        try:
            procs.scheduler()  # relays and enqueues; no worker yet, so the messages sit in Redis
            emit_events(w.tenant_id, _events(w.order_id, 0, 12))
            wait_for(
                "12 deliveries enqueued",
                lambda: (
                    owner_db.execute(
                        "SELECT count(*) FROM delivery WHERE tenant_id = %s AND enqueued_at IS NOT NULL",
                        (w.tenant_id,),
                    ).fetchone()[0]
                    == 12
                ),
                processes=procs,
            )
            private_redis.stop()  # ... and are lost with it
            restarted = EmbeddedRedis(private_redis.dir.parent, port=private_redis.port, persist=False)
            restarted.start()
            procs.worker()
            wait_for("all 12 deliveries", lambda: len(sink.delivered()) == 12, timeout=120, processes=procs)
            wait_for(
                "every delivery recorded",
                lambda: (
                    owner_db.execute(
                        "SELECT count(*) FROM delivery WHERE tenant_id = %s AND status = 'DELIVERED'",
                        (w.tenant_id,),
                    ).fetchone()[0]
                    == 12
                ),
                processes=procs,
            )
        finally:
            procs.stop_all()
            if restarted is not None:
                restarted.stop()
    assert set(sink.delivered().values()) == {1}
    assert len(sink.snapshot()) == 12


def test_a_worker_killed_while_sending_is_taken_over_with_the_same_webhook_id(
    gql, make_tenant, make_customer, owner_db, private_redis, tmp_path,  # type: ignore[no-untyped-def]
):
    """SIGKILL while the request is in flight leaves the delivery SENDING; once it is stuck for
    GROUPBUY_DELIVERY_STUCK_SECONDS the retry job re-enqueues it and a new worker sends it again,
    with the same webhook-id, so the receiver can tell it is the same event."""
    import os
    import signal

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    env = {**FAST_ENV, "REDIS_URL": private_redis.url(), "GROUPBUY_DELIVERY_TIMEOUT_SECONDS": "3",
           "GROUPBUY_DELIVERY_STUCK_SECONDS": "6"}
    procs = Processes(tmp_path, env)
    with WebhookSink() as sink:
        sink.hang_first = 30
        _, sink.secret = subscribe(gql, tenant, sink.url, ["ORDER_PAID"])
        try:
            first_worker = procs.worker()
            procs.scheduler()
            emit_events(w.tenant_id, _events(w.order_id, 0, 1))
            wait_for("the first attempt to be in flight", lambda: sink.attempts(), processes=procs)
            os.killpg(first_worker.pid, signal.SIGKILL)
            first_worker.wait(10)
            assert owner_db.execute("SELECT status FROM delivery WHERE tenant_id = %s",
                                    (w.tenant_id,)).fetchone()[0] == "SENDING"
            procs.worker()
            wait_for("the delivery by the second worker", lambda: sink.delivered(), timeout=60,
                     processes=procs)
            wait_for("the delivery recorded", lambda: owner_db.execute(
                "SELECT status, attempts FROM delivery WHERE tenant_id = %s",
                (w.tenant_id,)).fetchone() == ("DELIVERED", 2), processes=procs)
        finally:
            procs.stop_all()
    received = sink.snapshot()
    assert len(received) == 2 and len({r.webhook_id for r in received}) == 1
    assert [r.answered for r in received] == [0, 204]


def test_a_relay_requested_after_a_commit_runs_in_a_worker(
    gql, make_tenant, make_customer, owner_db, tmp_path,  # type: ignore[no-untyped-def]
):
    """No scheduler here: `request_relay` (sent after the commit) has a worker relay the tenant's
    events and send the new deliveries."""
    import asyncio

    from service.tasks.notify import request_relay

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    procs = Processes(tmp_path, FAST_ENV)  # the session's Redis, like this test process's broker
    with WebhookSink() as sink:
        _, sink.secret = subscribe(gql, tenant, sink.url, ["ORDER_PAID"])
        try:
            procs.worker()
            emit_events(w.tenant_id, _events(w.order_id, 0, 3))
            asyncio.run(request_relay(w.tenant_id))
            wait_for("3 deliveries", lambda: len(sink.delivered()) == 3, processes=procs)
        finally:
            procs.stop_all()
    assert owner_db.execute("SELECT count(*) FROM notification WHERE tenant_id = %s AND user_id = %s",
                            (w.tenant_id, w.customer_id)).fetchone()[0] == 3
