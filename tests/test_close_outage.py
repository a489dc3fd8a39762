"""Invariant 5 end to end: Redis is down while customers order and pay and while the batch's
cutoff passes. The scheduler closes the batch itself (it cannot hand the close to a worker), the
relay keeps every event in PostgreSQL, and once Redis is back every event of the tenant reaches the
webhook receiver, each exactly once."""

from __future__ import annotations

import sys
import uuid

import pytest

from service import global_id
from service.embedded import EmbeddedRedis, free_port
from tests.ordering_fixtures import ORDER_MARK_PAID, make_world, offer_input, open_batch_with_offers, place_input
from tests.test_notify import FAST_ENV, Processes, subscribe, wait_for
from tests.webhook_sink import WebhookSink

ORDER_PLACE = """
mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id } errors { code message } } }"""
EVENTS = ["ORDER_PLACED", "ORDER_PAID", "ORDER_CANCELLED", "ORDER_READY_FOR_PICKUP", "ORDER_PICKED_UP",
          "BATCH_OPENED", "BATCH_CLOSED", "BATCH_CANCELLED", "PURCHASE_ORDER_CREATED", "PICK_LIST_READY",
          "REFUND_CREATED"]


@pytest.fixture
def private_redis(tmp_path):  # type: ignore[no-untyped-def]
    redis = EmbeddedRedis(tmp_path, port=free_port(), persist=False)
    redis.start()
    yield redis
    redis.stop()


@pytest.mark.slow
def test_orders_and_a_close_during_a_broker_outage_lose_and_duplicate_nothing(  # type: ignore[no-untyped-def]
    gql, tenant, make_customer, owner_db, private_redis, tmp_path
):
    world = make_world(owner_db, tenant)
    procs = Processes(tmp_path, {**FAST_ENV, "REDIS_URL": private_redis.url(), "GROUPBUY_CLOSE_RETRY_SECONDS": "2"})
    restarted: EmbeddedRedis | None = None
    with WebhookSink() as sink:
        # Subscribed first: a subscriber receives the events that happen after it subscribed.
        _, sink.secret = subscribe(gql, tenant, sink.url, EVENTS)
        batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "6.60"),
                                                    offer_input(world, 1, "2.20", minGroupQuantity=50)])
        batch_id = global_id.decode_as(batch["id"], "Batch")
        try:
            procs.worker()
            procs.start("scheduler", [sys.executable, "-m", "service.cli", "scheduler", "--interval", "0.5"])

            private_redis.stop()
            for n in range(5):
                customer = make_customer(tenant)
                placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1 + n % 2), (1, 1)]),
                                  token=customer.token)["orderPlace"]
                assert placed["errors"] == [], placed
                paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": uuid.uuid4().hex},
                                token=tenant.api_key)["orderMarkPaid"]
                assert paid["errors"] == [], paid
            owner_db.execute("UPDATE batch SET closes_at = clock_timestamp() WHERE id = %s", (batch_id,))
            wait_for("the scheduler to close the batch without a broker", lambda: owner_db.execute(
                "SELECT status = 'CLOSED' FROM batch WHERE id = %s", (batch_id,)).fetchone()[0], processes=procs)
            wait_for("the relay to record every event's delivery while Redis is down", lambda: owner_db.execute(
                "SELECT count(*) = 0 FROM outbox_event WHERE tenant_id = %s AND relayed_at IS NULL",
                (tenant.uuid,)).fetchone()[0], processes=procs)

            restarted = EmbeddedRedis(private_redis.dir.parent, port=private_redis.port, persist=False)
            restarted.start()
            expected = {f"msg_{r[0].hex}" for r in owner_db.execute(
                "SELECT id FROM outbox_event WHERE tenant_id = %s", (tenant.uuid,)).fetchall()}
            try:
                wait_for("every event delivered once Redis is back", lambda: set(sink.delivered()) >= expected,
                         timeout=90)
            except AssertionError:
                missing = [r for r in owner_db.execute(
                    "SELECT e.event, e.subject_type, e.relayed_at, d.status, d.attempts, d.last_error "
                    "FROM outbox_event e LEFT JOIN delivery d ON d.tenant_id = e.tenant_id "
                    "AND d.outbox_event_id = e.id WHERE e.tenant_id = %s", (tenant.uuid,)).fetchall()
                    if r[3] != "DELIVERED"]
                raise AssertionError(f"not delivered: {missing}") from None
        finally:
            procs.stop_all()
            if restarted is not None:
                restarted.stop()
        delivered = sink.delivered()
    kinds = {r[0] for r in owner_db.execute("SELECT event FROM outbox_event WHERE tenant_id = %s", (tenant.uuid,))}
    # orders placed and paid, the close's own events, and the refunds of the offer below its minimum
    assert {"ORDER_PLACED", "ORDER_PAID", "BATCH_CLOSED", "PURCHASE_ORDER_CREATED", "PICK_LIST_READY",
            "REFUND_CREATED"} <= kinds
    assert set(delivered) == expected, "every event delivered, nothing else"
    assert set(delivered.values()) == {1}, "none delivered twice"
    assert all(r.signature_ok for r in sink.snapshot())
    assert owner_db.execute("SELECT count(*) FROM purchase_order WHERE batch_id = %s", (batch_id,)).fetchone()[0] == 1
