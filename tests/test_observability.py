"""Observability: /metrics after real requests, orders, a close and a failing webhook; the metrics
token; JSON logs with the request context and no secrets; actor context; tracing off by default,
spans printed with GROUPBUY_TRACING=console; several API processes summed in multiprocess mode."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.logs import configure_logging
from tests.close_fixtures import BatchSpec, OrderSpec, build_batch
from tests.conftest import run_db
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers, place_input

PLACE = """
mutation PlaceOrder($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id pickupCode } errors { code field } }
}"""
PICKUP = """
mutation ConfirmPickup($p: ID!, $c: String!) {
  pickupConfirm(pickupPointId: $p, pickupCode: $c) { order { id status } errors { code } }
}"""


METRICS_TOKEN = "test-metrics-token"


@pytest.fixture(autouse=True)
def metrics_token(api_url, monkeypatch):  # type: ignore[no-untyped-def]
    """The in-process API has one listener: /metrics is there only with the token."""
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "metrics_token", METRICS_TOKEN)


def scrape(api_url: str, token: str | None = METRICS_TOKEN) -> dict[tuple[str, tuple], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(f"{api_url}/metrics", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str, **labels: str) -> float:
    """Sum over every series of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def close(tenant_id, batch_id):  # type: ignore[no-untyped-def]
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            return await close_batch(session, tenant_id=tenant_id, batch_id=batch_id)

    return run_db(go)


# -- metrics -----------------------------------------------------------------------------------


def test_metrics_after_orders_a_close_and_plain_routes(api_url, gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    before = scrape(api_url)
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=1)])
    a, b = make_customer(tenant), make_customer(tenant)
    placed = gql.data(PLACE, place_input(batch, world, [(0, 1)]), token=a.token)["orderPlace"]
    refused = gql.data(PLACE, place_input(batch, world, [(0, 1)]), token=b.token)["orderPlace"]
    assert placed["errors"] == [] and [e["code"] for e in refused["errors"]] == ["OUT_OF_STOCK"]
    assert httpx.get(f"{api_url}/healthz").status_code == 200
    assert httpx.get(f"{api_url}/exports/purchase-orders/{uuid.uuid4()}.csv").status_code in (401, 403, 404)
    assert httpx.get(f"{api_url}/no/such/{uuid.uuid4()}").status_code == 404
    # a close that does the work, with lines to aggregate
    built = build_batch(
        owner_db,
        tenant.uuid,
        BatchSpec(
            suppliers=1,
            products=[(0, 500)],
            points=1,
            offers=[(0, 990, 1)],
            customers=2,
            orders=[OrderSpec(0, 0, "PAID", [(0, 2)]), OrderSpec(1, 0, "PAID", [(0, 1)])],
            commission_rates=[Decimal("0.1")],
        ),
    )
    result = close(tenant.uuid, built.batch_id)
    assert result is not None and result.order_lines == 2

    after = scrape(api_url)
    # requests: per GraphQL operation name, and per route template elsewhere
    key = {"route": "/graphql", "operation": "PlaceOrder", "status": "200"}
    assert (
        value(after, "groupbuy_http_requests_total", **key)
        - value(before, "groupbuy_http_requests_total", **key)
        == 2
    )
    latency = {"route": "/graphql", "operation": "PlaceOrder"}
    assert value(after, "groupbuy_http_request_duration_seconds_count", **latency) >= 2
    assert value(after, "groupbuy_http_request_duration_seconds_sum", **latency) > 0
    assert value(after, "groupbuy_http_request_duration_seconds_bucket", le="+Inf", **latency) >= 2
    assert value(after, "groupbuy_http_requests_total", route="/healthz", operation="", status="200") >= 1
    assert total(after, "groupbuy_http_requests_total", route="/exports/purchase-orders/{id}.csv") >= 1
    assert value(after, "groupbuy_http_requests_total", route="(unmatched)", operation="", status="404") >= 1
    assert not any("no/such" in str(labels) for _, labels in after)  # raw paths never become labels
    # orders, by tenant and refusal reason
    assert value(after, "groupbuy_orders_placed_total", tenant=tenant.slug) == 1
    assert value(after, "groupbuy_orders_refused_total", tenant=tenant.slug, reason="OUT_OF_STOCK") == 1
    # the close
    closes = "groupbuy_batch_close_duration_seconds_count"
    assert value(after, closes) - value(before, closes) == 1
    lines = "groupbuy_batch_close_order_lines_sum"
    assert value(after, lines) - value(before, lines) == 2
    assert value(after, "groupbuy_batch_close_duration_seconds_sum") >= result.duration_ms / 1000
    # state read at scrape time: the close's events are waiting for the relay; queues are listed
    assert value(after, "groupbuy_scrape_source_up", source="database") == 1
    assert value(after, "groupbuy_scrape_source_up", source="redis") == 1
    assert value(after, "groupbuy_outbox_pending_events") >= 1
    assert value(after, "groupbuy_outbox_lag_seconds") >= 0
    assert value(after, "groupbuy_outbox_oldest_undelivered_seconds") >= value(
        after, "groupbuy_outbox_lag_seconds"
    )
    assert ("groupbuy_outbox_undelivered_deliveries", (("channel", "WEBHOOK"),)) in after
    for queue in ("default", "notify", "close"):
        for state in ("ready", "delayed", "dead"):
            assert ("groupbuy_queue_messages", (("queue", queue), ("state", state))) in after
    # no label names a user, an order or a batch
    ids = {str(built.batch_id), placed["order"]["id"], a.user_id, b.user_id, a.phone}
    assert not any(i in str(labels) for _, labels in after for i in ids)


def test_outbox_lag_counts_an_unrelayed_event(api_url, tenant, owner_db):  # type: ignore[no-untyped-def]
    owner_db.execute(
        "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload, created_at) "
        "VALUES (%s, %s, 'BATCH_CLOSED', 'batch', %s, '{}', now() - interval '1 hour')",
        (tenant.uuid, uuid.uuid4(), uuid.uuid4()),
    )
    try:
        after = scrape(api_url)
        assert value(after, "groupbuy_outbox_lag_seconds") >= 3600
        assert value(after, "groupbuy_outbox_oldest_undelivered_seconds") >= 3600
    finally:
        owner_db.execute("UPDATE outbox_event SET relayed_at = now() WHERE tenant_id = %s", (tenant.uuid,))


def test_queue_depth_is_read_from_redis(api_url, services):  # type: ignore[no-untyped-def]
    import redis

    from service.tasks.notify import relay_tenant_outbox

    client = redis.Redis.from_url(services.redis_url)
    before = value(scrape(api_url), "groupbuy_queue_messages", queue="notify", state="ready")
    sent = [relay_tenant_outbox.send(str(uuid.uuid4())) for _ in range(3)]
    try:
        after = value(scrape(api_url), "groupbuy_queue_messages", queue="notify", state="ready")
        assert after - before == 3
    finally:  # nobody consumes them here: take them back out
        for message in sent:
            client.lrem("dramatiq:notify", 0, message.message_id)
            client.hdel("dramatiq:notify.msgs", message.message_id)


def test_webhook_failures_are_counted(api_url, gql, make_tenant, make_customer, owner_db, monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings
    from service.notify.delivery import deliver
    from tests.test_notify import emit_events, relay, subscribe
    from tests.test_notify import make_world as notify_world
    from tests.webhook_sink import WebhookSink

    monkeypatch.setattr(get_settings(), "delivery_retry_schedule", "0")  # one retry, then FAILED
    tenant = make_tenant()
    w = notify_world(owner_db, tenant, make_customer)
    before = scrape(api_url)
    with WebhookSink() as sink:
        sink.always_fail = True
        _, sink.secret = subscribe(gql, tenant, sink.url, ["BATCH_CLOSED"])
        emit_events(w.tenant_id, [("BATCH_CLOSED", "batch", w.batch_id, {"title": "t"})])
        relay(w.tenant_id)
        (delivery_id,) = [
            r[0]
            for r in owner_db.execute(
                "SELECT id FROM delivery WHERE tenant_id = %s AND channel = 'WEBHOOK'", (w.tenant_id,)
            )
        ]
        run_db(lambda engine: deliver(w.tenant_id, delivery_id, engine=engine))
        run_db(lambda engine: deliver(w.tenant_id, delivery_id, engine=engine))
    status = owner_db.execute("SELECT status FROM delivery WHERE id = %s", (delivery_id,)).fetchone()[0]
    assert status == "FAILED"
    after = scrape(api_url)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("groupbuy_webhook_failures_total", channel="WEBHOOK", kind="attempt") == 2
    assert grew("groupbuy_webhook_failures_total", channel="WEBHOOK", kind="final") == 1
    assert grew("groupbuy_delivery_attempts_total", channel="WEBHOOK", result="retry") == 1
    assert grew("groupbuy_delivery_attempts_total", channel="WEBHOOK", result="failed") == 1


def test_metrics_token_guard(api_url, monkeypatch):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    monkeypatch.setattr(get_settings(), "metrics_token", None)
    for path in ("/metrics", "/status"):  # no token configured: not on the public listener at all
        absent = httpx.get(f"{api_url}{path}")
        assert absent.status_code == 404 and "groupbuy_" not in absent.text and "redis" not in absent.text
    monkeypatch.setattr(get_settings(), "metrics_token", "metrics-secret-1")
    refused = httpx.get(f"{api_url}/metrics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert "groupbuy_" not in refused.text
    for header in ("Bearer wrong", "Basic metrics-secret-1", "metrics-secret-1"):
        assert httpx.get(f"{api_url}/metrics", headers={"Authorization": header}).status_code == 401
    assert value(scrape(api_url, token="metrics-secret-1"), "groupbuy_scrape_source_up", source="redis") == 1


def test_operation_names_are_capped_and_normalised() -> None:
    from service.observability import metrics

    assert metrics.operation_label(None) == metrics.ANONYMOUS
    assert metrics.operation_label("Has-Dash") == metrics.OTHER
    assert metrics.operation_label("x" * 65) == metrics.OTHER
    assert metrics.operation_label("OrderList") == "OrderList"
    for i in range(metrics.MAX_OPERATION_NAMES + 10):
        metrics.operation_label(f"Flood{i}")
    assert metrics.operation_label("NeverSeenBefore") == metrics.OTHER
    assert metrics.operation_label("OrderList") == "OrderList"  # admitted names stay
    assert metrics.refusal_reason("OUT_OF_STOCK") == "OUT_OF_STOCK"
    assert metrics.refusal_reason("made up") == "OTHER"


def test_graphql_requests_that_do_not_execute_are_labelled(api_url, gql, tenant) -> None:  # type: ignore[no-untyped-def]
    before = scrape(api_url)
    gql.post("query Broken { nope }", tenant=tenant.slug)
    gql.post("{ __typename }", tenant=tenant.slug)
    after = scrape(api_url)
    assert total(after, "groupbuy_http_requests_total", operation="(not executed)") > total(
        before, "groupbuy_http_requests_total", operation="(not executed)"
    )
    assert total(after, "groupbuy_http_requests_total", operation="(anonymous)") > total(
        before, "groupbuy_http_requests_total", operation="(anonymous)"
    )
    assert total(after, "groupbuy_http_requests_total", operation="Broken") == 0


# -- logs --------------------------------------------------------------------------------------


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = configure_logging(json=True, level="DEBUG", stream=stream)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)


def test_json_logs_carry_the_request_context_and_no_secrets(  # type: ignore[no-untyped-def]
    api_url, gql, tenant, owner_db, make_customer, platform_token, captured
):
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customer = make_customer(tenant)  # registered with a phone number and a password
    signed_in = gql.data(
        "mutation SignIn($input: TokenCreateInput!) { tokenCreate(input: $input) { token errors { code } } }",
        {"input": {"login": customer.phone, "password": customer.password}},
        tenant=tenant.slug,
    )["tokenCreate"]["token"]
    wrong = gql.data(
        "mutation SignIn($input: TokenCreateInput!) { tokenCreate(input: $input) { token errors { code } } }",
        {"input": {"login": customer.phone, "password": "wrong-Pa55word-x"}},
        tenant=tenant.slug,
    )["tokenCreate"]
    assert wrong["token"] is None
    response = gql.post(
        PLACE,
        place_input(batch, world, [(0, 1)]),
        token=customer.token,
        headers={"X-Request-Id": "req-observability-1"},
    )
    order = response.json()["data"]["orderPlace"]["order"]
    owner_db.execute("UPDATE customer_order SET status = 'READY_FOR_PICKUP' WHERE tenant_id = %s", (tenant.uuid,))
    done = gql.data(PICKUP, {"p": world.point_gid, "c": order["pickupCode"]}, token=world.leader_token)
    assert done["pickupConfirm"]["errors"] == []
    gql.post("query Secret { viewer { userId } }", token=platform_token, tenant=tenant.slug)

    out = captured.getvalue()
    records = [json.loads(line) for line in out.splitlines()]
    (placed,) = [
        r
        for r in records
        if r.get("request_id") == "req-observability-1" and r.get("logger") == "service.graphql.requests"
    ]
    assert placed["tenant"] == tenant.slug and placed["operation"] == "PlaceOrder"
    assert placed["level"] == "INFO" and placed["error_codes"] == [] and placed["duration_ms"] >= 0
    pickup = [r for r in records if r.get("operation") == "ConfirmPickup"]
    assert pickup and all(r["tenant"] == tenant.slug and r["request_id"] for r in pickup)
    for secret in (
        customer.password,
        "wrong-Pa55word-x",
        customer.phone,
        customer.phone.removeprefix("+86"),
        customer.token,
        signed_in,
        world.leader_token,
        platform_token,
        order["pickupCode"],
        tenant.api_key,
        tenant.admin_password,
    ):
        assert secret not in out, secret


def test_actor_logs_metrics_and_context(services, api_url, captured):  # type: ignore[no-untyped-def]
    """A real dramatiq worker on Redis (a private namespace) running a sync and an async actor."""
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO

    from service.logs import current_context
    from service.observability.actors import ActorObservability

    broker = RedisBroker(url=services.redis_url, namespace=f"obs-{uuid.uuid4().hex[:8]}")
    broker.add_middleware(AsyncIO())
    broker.add_middleware(ActorObservability())
    seen: dict[str, dict] = {}

    @dramatiq.actor(broker=broker, queue_name="obs", max_retries=0)
    def obs_sync(key: str) -> None:
        seen[key] = current_context()
        logging.getLogger("service.test").info("sync actor ran")

    @dramatiq.actor(broker=broker, queue_name="obs", max_retries=0)
    async def obs_async(key: str) -> None:
        seen[key] = current_context()
        logging.getLogger("service.test").info("async actor ran")

    @dramatiq.actor(broker=broker, queue_name="obs", max_retries=0)
    def obs_fails() -> None:
        raise RuntimeError("boom")

    before = scrape(api_url)
    worker = dramatiq.Worker(broker, worker_threads=2)
    worker.start()
    try:
        m1, m2 = obs_sync.send("s"), obs_async.send("a")
        obs_fails.send()
        broker.join("obs", timeout=30_000)
        worker.join()
    finally:
        worker.stop()
        broker.flush_all()
        broker.close()
    assert seen["s"] == {"message_id": m1.message_id, "operation": "obs_sync"}
    assert seen["a"] == {"message_id": m2.message_id, "operation": "obs_async"}
    records = [json.loads(line) for line in captured.getvalue().splitlines()]
    ran = {r["msg"]: r for r in records if r["msg"].endswith("actor ran")}
    assert ran["async actor ran"]["message_id"] == m2.message_id
    assert ran["async actor ran"]["operation"] == "obs_async"
    after = scrape(api_url)
    for actor, outcome in (("obs_sync", "ok"), ("obs_async", "ok"), ("obs_fails", "error")):
        grew = value(after, "groupbuy_actor_messages_total", actor=actor, outcome=outcome) - value(
            before, "groupbuy_actor_messages_total", actor=actor, outcome=outcome
        )
        assert grew == 1, (actor, outcome)
    assert value(after, "groupbuy_actor_duration_seconds_count", actor="obs_async") >= 1


# -- tracing -----------------------------------------------------------------------------------


def test_tracing_is_off_by_default(api_url, gql, tenant) -> None:  # type: ignore[no-untyped-def]
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from service.observability.tracing import tracing_mode

    assert tracing_mode() == "off"
    gql.data("query Ping { __typename }", tenant=tenant.slug)
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    assert not trace.get_tracer("groupbuy").start_span("x").is_recording()


CONSOLE_SCRIPT = textwrap.dedent("""
    import json, sys, uuid
    import dramatiq
    from dramatiq.brokers.redis import RedisBroker
    from dramatiq.middleware import AsyncIO
    from starlette.testclient import TestClient

    from service.app import create_app
    from service.observability.actors import ActorObservability
    from service.observability.tracing import tracer

    slug = sys.argv[1]
    with TestClient(create_app()) as client:
        r = client.post("/graphql", json={"query": "query Ping { __typename }"},
                        headers={"X-Tenant": slug, "X-Request-Id": "req-span-1",
                                 "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"})
        assert r.status_code == 200, r.text

    broker = RedisBroker(namespace="obs-" + uuid.uuid4().hex[:8])
    broker.add_middleware(AsyncIO())
    broker.add_middleware(ActorObservability())

    @dramatiq.actor(broker=broker, queue_name="obs", max_retries=0)
    async def traced() -> None:
        with tracer().start_as_current_span("inside"):
            pass

    worker = dramatiq.Worker(broker, worker_threads=1)
    worker.start()
    with tracer().start_as_current_span("sender"):
        traced.send()
    broker.join("obs", timeout=30000)
    worker.join()
    worker.stop()
    broker.flush_all()
""")


def test_console_tracing_prints_spans(services, tenant) -> None:  # type: ignore[no-untyped-def]
    env = {**os.environ, "GROUPBUY_TRACING": "console"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    script = CONSOLE_SCRIPT.replace(
        "RedisBroker(namespace=", f"RedisBroker(url={services.redis_url!r}, namespace="
    )
    done = subprocess.run(
        [sys.executable, "-c", script, tenant.slug], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    spans = _console_spans(done.stdout)
    by_name = {s["name"]: s for s in spans}
    ping = by_name["query Ping"]
    assert ping["kind"] == "SpanKind.SERVER"
    assert ping["attributes"]["groupbuy.tenant"] == tenant.slug
    assert ping["attributes"]["groupbuy.request_id"] == "req-span-1"
    assert ping["attributes"]["graphql.operation.name"] == "Ping"
    assert ping["context"]["trace_id"] == "0x0af7651916cd43dd8448eb211c80319c"  # the caller's trace
    actor, sender, inside = by_name["actor traced"], by_name["sender"], by_name["inside"]
    assert actor["context"]["trace_id"] == sender["context"]["trace_id"]  # continued from the sender
    assert actor["attributes"]["messaging.system"] == "dramatiq"
    assert inside["parent_id"] == actor["context"]["span_id"]  # the async actor runs inside its span


def _console_spans(stdout: str) -> list[dict]:
    """ConsoleSpanExporter prints one indented JSON object per span."""
    decoder, spans, i = json.JSONDecoder(), [], 0
    while (start := stdout.find("{", i)) != -1:
        obj, i = decoder.raw_decode(stdout, start)
        spans.append(obj)
    return spans


# -- several processes -------------------------------------------------------------------------


def test_several_api_processes_are_summed(services, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from service.embedded import free_port

    port, metrics_port = free_port(), free_port()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"), "GROUPBUY_ENV": "production",
           "GROUPBUY_METRICS_PORT": str(metrics_port)}
    env.pop("GROUPBUY_METRICS_TOKEN", None)
    (tmp_path / "prom").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                # A generous timeout: a probe given up on client-side may still be answered, and
                # counted, once a slow-starting worker gets to it (seen as 21 instead of 20).
                if httpx.get(f"{base}/healthz", timeout=30).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        for _ in range(19):  # a new connection each: the kernel spreads them over the workers
            httpx.get(f"{base}/healthz", timeout=5)
        # 20 healthz requests in all, whichever process answers the scrape
        for _ in range(6):  # on the internal listener, which every worker serves
            samples = scrape(f"http://127.0.0.1:{metrics_port}", token=None)
            assert (
                value(samples, "groupbuy_http_requests_total", route="/healthz", operation="", status="200")
                == 20
            )
        files = {p.name.rsplit("_", 1)[-1] for p in (tmp_path / "prom").glob("counter_*.db")}
        assert len(files) >= 1
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
    # production logs are JSON lines
    lines = [line for line in err.splitlines() if line.startswith("{")]
    assert lines and all(json.loads(line)["level"] for line in lines)


def test_an_oversized_body_is_a_413_in_metrics_and_logs_no_error(api_url, captured) -> None:  # type: ignore[no-untyped-def]
    """Refused bodies, announced and not (chunked): the client gets 413, and so do the metrics;
    the log has one WARNING line for each, with no ERROR and no traceback."""
    from service.config import get_settings

    limit = get_settings().max_body_bytes
    before = scrape(api_url)

    def chunks() -> Iterator[bytes]:
        yield b'{"query": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536

    announced = httpx.post(f"{api_url}/graphql", content=b"{" + b" " * limit + b"}",
                           headers={"Content-Type": "application/json"})
    chunked = httpx.post(f"{api_url}/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert announced.status_code == chunked.status_code == 413
    after = scrape(api_url)
    grew = {status: value(after, "groupbuy_http_requests_total", route="/graphql", operation="(not executed)",
                          status=status)
            - value(before, "groupbuy_http_requests_total", route="/graphql", operation="(not executed)",
                    status=status) for status in ("413", "500")}
    assert grew == {"413": 2, "500": 0}
    records = [r for line in captured.getvalue().splitlines()
               if not (r := json.loads(line))["logger"].startswith(("httpx", "httpcore"))]  # the client's own
    assert not [r for r in records if r["level"] in ("ERROR", "CRITICAL") or "exc" in r], records
    refused = [r for r in records if "413" in r["msg"]]
    assert len(refused) == 2 and all(r["level"] == "WARNING" for r in refused), records


def test_development_request_lines_say_what_ran(api_url, gql, tenant) -> None:  # type: ignore[no-untyped-def]
    """The text lines of development: operation name, root fields, outcome and duration."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    stream = io.StringIO()
    handler = configure_logging(json=False, level="INFO", stream=stream)
    try:
        gql.post("{ tenant { name } pickupPoints { edges { node { id } } } }", tenant=tenant.slug)
        gql.post("mutation PlaceNothing { orderPlace(input: {batchId: \"x\", pickupPointId: \"y\", lines: []}) "
                 "{ errors { code } } }", tenant=tenant.slug)
    finally:
        root.removeHandler(handler)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
    lines = [line for line in stream.getvalue().splitlines() if "service.graphql.requests" in line]
    assert len(lines) == 2, stream.getvalue()
    assert re.search(r": graphql query \(anonymous\) \{tenant,pickupPoints\} ok \d+\.\d ms$", lines[0]), lines[0]
    assert re.search(r": graphql mutation PlaceNothing \{orderPlace\} \S+ \d+\.\d ms$", lines[1]), lines[1]


def test_a_forged_request_id_is_replaced(api_url, captured) -> None:  # type: ignore[no-untyped-def]
    """A request id that would write text of its own into the context of the development log
    line, with an 8-bit terminal escape (CSI), is replaced by a fresh one, in the answer and in
    every log line of the request. (CR, LF and ESC do not pass uvicorn's HTTP parser.)"""
    import socket
    from urllib.parse import urlsplit

    forged = "r1 tenant=victim]: admin signed in \x9b2J [request_id=r2"
    url = urlsplit(api_url)
    body = b'{"query": "{ __typename }"}'
    with socket.create_connection((url.hostname, url.port)) as sock:
        sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nConnection: close\r\n"
                     + b"X-Request-Id: " + forged.encode("latin-1") + b"\r\nContent-Length: " + str(len(body)).encode()
                     + b"\r\n\r\n" + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode()
    assert head.startswith("HTTP/1.1 200"), head
    (given,) = [line.split(":", 1)[1].strip() for line in head.split("\r\n") if line.lower().startswith("x-request-id:")]
    assert re.fullmatch(r"[0-9a-f]{32}", given)
    out = captured.getvalue()
    assert "\x9b" not in out and "admin signed in" not in out and "victim" not in out
    assert any(json.loads(line).get("request_id") == given for line in out.splitlines())
