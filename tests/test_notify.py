"""Invariant 5: the outbox relay, in-app notifications, webhook subscriptions. Real PostgreSQL;
the worker-process tests are in test_notify_delivery.py and test_notify_outage.py, which use the
helpers here.

Subjects (orders, points, suppliers…) are created with SQL, and events written with
`service.notify.outbox.emit` in a tenant transaction, as the domains do in theirs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from service import global_id
from tests.conftest import run_db

# Retries in seconds, not hours: 5 attempts, then FAILED.
FAST_RETRIES = "0.2,0.4,0.6,0.8"
FAST_ENV = {
    "GROUPBUY_DELIVERY_RETRY_SCHEDULE": FAST_RETRIES,
    "GROUPBUY_DELIVERY_REQUEUE_SECONDS": "3",
    "GROUPBUY_DELIVERY_STUCK_SECONDS": "30",
    "GROUPBUY_DELIVERY_TIMEOUT_SECONDS": "5",
}

# The scheduler's notification jobs, looping as the scheduler's leader would run them.
SCHEDULER = """
import asyncio, logging
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
from service.tasks import notify

async def main():
    while True:
        for job in (notify.relay_outbox, notify.retry_deliveries):
            try:
                await job()
            except Exception:
                logging.exception("job failed")
        await asyncio.sleep(0.2)

asyncio.run(main())
"""

WEBHOOK_CREATE = """
mutation($input: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(input: $input) {
    webhookSubscription { id url events active } secret errors { code field message }
  }
}"""
SUBSCRIPTIONS = """
query($status: [WebhookDeliveryStatus!]) {
  webhookSubscriptions { id url events active
    deliveries(status: $status, first: 50) {
      event webhookId status attempts lastStatusCode lastError deliveredAt } }
}"""
NOTIFICATIONS = """
query($unread: Boolean, $first: Int, $after: String) {
  notifications(unreadOnly: $unread, first: $first, after: $after) {
    edges { cursor node { id event title body createdAt readAt } } pageInfo { hasNextPage endCursor }
  }
}"""
MARK_READ = "mutation($id: ID!) { notificationMarkRead(id: $id) }"


# -- processes -------------------------------------------------------------------------------


class Processes:
    """Worker and scheduler subprocesses (own process groups), stopped at the end."""

    def __init__(self, log_dir: Path, env: dict[str, str]) -> None:
        self.log_dir = log_dir
        self.env = {**os.environ, **env}
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}-{len(self.running)}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            args,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).parent.parent,
        )
        self.running.append(proc)
        return proc

    def worker(self) -> subprocess.Popen:
        return self.start(
            "worker",
            [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "4", "service.tasks.worker"],
        )

    def scheduler(self) -> subprocess.Popen:
        return self.start("scheduler", [sys.executable, "-u", "-c", SCHEDULER])

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:  # the dramatiq main process forwards it to its workers
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.running:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        self.running.clear()

    def logs(self) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in self.log_dir.glob("*.log")
        )


def wait_for(
    what: str, check: Callable[[], Any], timeout: float = 60, processes: Processes | None = None
) -> Any:
    """Polls `check` until it returns something truthy; fails with `what` (and the logs) otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out waiting for {what}" + (f"\n{processes.logs()}" if processes else "")
            )
        time.sleep(0.1)


# -- subjects, made with SQL as the owner ------------------------------------------------------


@dataclass
class World:
    """One tenant's people and things: a customer with an order, a leader with a point, a supplier."""

    tenant_id: uuid.UUID
    slug: str
    customer_id: uuid.UUID
    customer_token: str
    leader_user_id: uuid.UUID
    leader_token: str
    leader_id: uuid.UUID
    point_id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_user_id: uuid.UUID
    batch_id: uuid.UUID
    order_id: uuid.UUID
    other_customer_id: uuid.UUID
    extra: dict[str, Any] = field(default_factory=dict)


def make_world(
    db: psycopg.Connection, tenant: Any, make_customer: Any, *, supplier_email: str | None = None
) -> World:
    t = tenant.uuid
    customer = make_customer(tenant, "顾客 Customer")
    leader_user = make_customer(tenant, "团长 Leader")
    other = make_customer(tenant, "Other customer")
    customer_id = global_id.decode(customer.user_id)[1]
    leader_user_id = global_id.decode(leader_user.user_id)[1]
    leader_id, point_id, supplier_id, supplier_user, batch_id, order_id = (uuid.uuid4() for _ in range(6))
    db.execute(
        "UPDATE app_user SET email = %s WHERE tenant_id = %s AND id = %s",
        (f"leader-{leader_user_id.hex[:8]}@example.com", t, leader_user_id),
    )
    db.execute(
        "INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate) "
        "VALUES (%s, %s, %s, '团长', %s, 'APPROVED', 0.1)",
        (t, leader_id, leader_user_id, leader_user.phone),
    )
    db.execute(
        "INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
        "VALUES (%s, %s, %s, '幸福小区自提点', '幸福路1号', 31.2, 121.4, true)",
        (t, point_id, leader_id),
    )
    db.execute(
        "INSERT INTO supplier (tenant_id, id, name, contact_email) VALUES (%s, %s, '鲜果供应商', %s)",
        (t, supplier_id, supplier_email),
    )
    db.execute(
        "INSERT INTO app_user (tenant_id, id, kind, display_name, email, password_hash, supplier_id) "
        "VALUES (%s, %s, 'SUPPLIER', 'Supplier staff', %s, 'x', %s)",
        (t, supplier_user, f"staff-{supplier_user.hex[:8]}@supplier.example", supplier_id),
    )
    db.execute(
        "INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date) "
        "VALUES (%s, %s, '周末水果团', 'OPEN', now() - interval '1 hour', now() + interval '1 day', "
        "current_date + 2)",
        (t, batch_id),
    )
    db.execute(
        "INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
        "customer_name, leader_id, commission_rate, status, currency, total_minor, pickup_code, "
        "idempotency_key, request_hash) "
        "VALUES (%s, %s, %s, %s, %s, %s, '顾客', %s, 0.1, 'PAID', 'CNY', 1000, '123456', %s, 'h')",
        (t, order_id, f"N{order_id.hex[:10]}", batch_id, point_id, customer_id, leader_id, order_id.hex),
    )
    return World(
        tenant_id=t,
        slug=tenant.slug,
        customer_id=customer_id,
        customer_token=customer.token,
        leader_user_id=leader_user_id,
        leader_token=leader_user.token,
        leader_id=leader_id,
        point_id=point_id,
        supplier_id=supplier_id,
        supplier_user_id=supplier_user,
        batch_id=batch_id,
        order_id=order_id,
        other_customer_id=global_id.decode(other.user_id)[1],
    )


def emit_events(tenant_id: uuid.UUID, events: list[tuple[str, str, uuid.UUID, dict[str, Any]]]) -> None:
    """Writes events the way a domain does: `emit` inside one tenant transaction."""
    from service.db import tenant_transaction
    from service.notify.outbox import emit

    async def write(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            for event, subject_type, subject_id, payload in events:
                await emit(
                    session,
                    tenant_id=tenant_id,
                    event=event,
                    subject_type=subject_type,
                    subject_id=subject_id,
                    payload=payload,
                )

    run_db(write)


def relay(tenant_id: uuid.UUID) -> Any:
    from service.notify.relay import relay_tenant

    return run_db(lambda engine: relay_tenant(tenant_id, engine=engine))


def subscribe(gql: Any, tenant: Any, url: str, events: list[str]) -> tuple[str, str]:
    payload = gql.data(WEBHOOK_CREATE, {"input": {"url": url, "events": events}}, token=tenant.admin_token)[
        "webhookSubscriptionCreate"
    ]
    assert payload["errors"] == [], payload
    return payload["webhookSubscription"]["id"], payload["secret"]


def notifications_of(db: psycopg.Connection, tenant_id: uuid.UUID) -> set[tuple[str, uuid.UUID]]:
    return {
        (r[0], r[1])
        for r in db.execute(
            "SELECT event, user_id FROM notification WHERE tenant_id = %s", (tenant_id,)
        ).fetchall()
    }


def deliveries(db: psycopg.Connection, tenant_id: uuid.UUID) -> list[tuple]:
    return db.execute(
        "SELECT status, attempts, channel, target, last_error, outbox_event_id FROM delivery "
        "WHERE tenant_id = %s",
        (tenant_id,),
    ).fetchall()


# -- in-app ------------------------------------------------------------------------------------


def test_in_app_notifications_reach_the_right_users_and_no_other_tenant(
    gql,
    make_tenant,
    make_customer,
    owner_db,  # type: ignore[no-untyped-def]
):
    a_tenant, b_tenant = make_tenant(), make_tenant()
    a = make_world(owner_db, a_tenant, make_customer)
    b = make_world(owner_db, b_tenant, make_customer)
    refund_id = uuid.uuid4()
    owner_db.execute(
        "INSERT INTO refund (tenant_id, id, order_id, amount_minor, currency, reason) "
        "VALUES (%s, %s, %s, 500, 'CNY', '缺货')",
        (a.tenant_id, refund_id, a.order_id),
    )
    emit_events(
        a.tenant_id,
        [
            ("ORDER_READY_FOR_PICKUP", "order", a.order_id, {"number": "A-1"}),
            ("REFUND_CREATED", "refund", refund_id, {"amount": "5.00"}),
            (
                "PICK_LIST_READY",
                "pick_list",
                uuid.uuid4(),
                {"pickupPointId": str(a.point_id), "batchId": str(a.batch_id)},
            ),
            ("PURCHASE_ORDER_CREATED", "purchase_order", uuid.uuid4(), {"supplierId": str(a.supplier_id)}),
            ("BATCH_CANCELLED", "batch", a.batch_id, {"title": "周末水果团", "reason": "天气"}),
            ("BATCH_CLOSED", "batch", a.batch_id, {}),  # webhooks only: nobody in-app
            # A payload naming another tenant's point finds nobody: RLS and the tenant filter agree.
            ("PICK_LIST_READY", "pick_list", uuid.uuid4(), {"pickupPointId": str(b.point_id)}),
            ("ORDER_PAID", "order", uuid.uuid4(), {"orderId": "not-a-uuid"}),  # ignored, not fatal
        ],
    )
    emit_events(b.tenant_id, [("ORDER_READY_FOR_PICKUP", "order", b.order_id, {})])
    assert relay(a.tenant_id).events == 8
    assert relay(b.tenant_id).events == 1
    assert relay(a.tenant_id).events == 0  # nothing pending any more

    assert notifications_of(owner_db, a.tenant_id) == {
        ("ORDER_READY_FOR_PICKUP", a.customer_id),
        ("REFUND_CREATED", a.customer_id),
        ("PICK_LIST_READY", a.leader_user_id),
        ("PURCHASE_ORDER_CREATED", a.supplier_user_id),
        ("BATCH_CANCELLED", a.customer_id),
        ("BATCH_CANCELLED", a.leader_user_id),
    }
    assert notifications_of(owner_db, b.tenant_id) == {("ORDER_READY_FOR_PICKUP", b.customer_id)}
    assert (
        owner_db.execute(
            "SELECT count(*) FROM outbox_event WHERE tenant_id IN (%s, %s) AND relayed_at IS NULL",
            (a.tenant_id, b.tenant_id),
        ).fetchone()[0]
        == 0
    )

    # Over GraphQL: the caller's own, newest first, with the human text.
    edges = gql.data(NOTIFICATIONS, {"first": 10}, token=a.customer_token)["notifications"]["edges"]
    assert [e["node"]["event"] for e in edges] == [
        "BATCH_CANCELLED",
        "REFUND_CREATED",
        "ORDER_READY_FOR_PICKUP",
    ]
    ready = edges[2]["node"]
    assert ready["title"] == "Order ready for pickup" and "A-1" in ready["body"]  # English: no Accept-Language
    assert ready["readAt"] is None
    # Keyset pages.
    page1 = gql.data(NOTIFICATIONS, {"first": 2}, token=a.customer_token)["notifications"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = gql.data(
        NOTIFICATIONS, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, token=a.customer_token
    )["notifications"]
    assert [e["node"]["id"] for e in page1["edges"] + page2["edges"]] == [e["node"]["id"] for e in edges]
    assert page2["pageInfo"]["hasNextPage"] is False

    # Marking read: own only; another user's or another tenant's ID is false and changes nothing.
    b_edges = gql.data(NOTIFICATIONS, {}, token=b.customer_token)["notifications"]["edges"]
    assert len(b_edges) == 1
    assert gql.data(MARK_READ, {"id": ready["id"]}, token=b.customer_token)["notificationMarkRead"] is False
    assert gql.data(MARK_READ, {"id": ready["id"]}, token=a.leader_token)["notificationMarkRead"] is False
    assert (
        gql.data(MARK_READ, {"id": b_edges[0]["node"]["id"]}, token=a.customer_token)["notificationMarkRead"]
        is False
    )
    assert gql.data(MARK_READ, {"id": "garbage"}, token=a.customer_token)["notificationMarkRead"] is False
    assert gql.data(MARK_READ, {"id": ready["id"]}, token=a.customer_token)["notificationMarkRead"] is True
    unread = gql.data(NOTIFICATIONS, {"unread": True}, token=a.customer_token)["notifications"]["edges"]
    assert ready["id"] not in {e["node"]["id"] for e in unread} and len(unread) == 2
    assert gql.data(NOTIFICATIONS, {"unread": True}, token=b.customer_token)["notifications"]["edges"] != []
    # node(id) is the owner's only.
    node_q = "query($id: ID!) { node(id: $id) { id ... on Notification { title } } }"
    assert gql.data(node_q, {"id": ready["id"]}, token=a.customer_token)["node"]["title"]
    assert gql.data(node_q, {"id": ready["id"]}, token=b.customer_token)["node"] is None
    assert gql.data(node_q, {"id": ready["id"]}, token=a.leader_token)["node"] is None


def test_relaying_twice_or_concurrently_creates_each_delivery_once(
    gql,
    make_tenant,
    make_customer,
    owner_db,  # type: ignore[no-untyped-def]
):
    from service.notify import relay as relay_module

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    subscribe(gql, tenant, "https://hooks.example.com/a", ["ORDER_PAID", "BATCH_CLOSED"])
    subscribe(gql, tenant, "https://hooks.example.com/b", ["ORDER_PAID"])
    subscribe(gql, tenant, "https://hooks.example.com/c", ["REFUND_CREATED"])  # hears none of these
    events = [("ORDER_PAID", "order", w.order_id, {"n": i}) for i in range(450)]
    events += [("BATCH_CLOSED", "batch", w.batch_id, {})]
    emit_events(w.tenant_id, events)

    async def concurrently(engine):  # type: ignore[no-untyped-def]
        return await asyncio.gather(
            *(relay_module.relay_tenant(w.tenant_id, engine=engine) for _ in range(6))
        )

    results = run_db(concurrently)
    assert sum(r.events for r in results) == 451
    assert sum(len(r.delivery_ids) for r in results) == 450 * 2 + 1
    # Pretend every event was never marked relayed (a crash after the deliveries were written):
    owner_db.execute("UPDATE outbox_event SET relayed_at = NULL WHERE tenant_id = %s", (w.tenant_id,))
    again = relay(w.tenant_id)
    assert again.events == 451 and again.delivery_ids == []
    rows = deliveries(owner_db, w.tenant_id)
    assert len(rows) == 901
    assert len({(r[5], r[3]) for r in rows}) == 901
    assert owner_db.execute(
        "SELECT count(*), count(DISTINCT outbox_event_id) FROM notification WHERE tenant_id = %s",
        (w.tenant_id,),
    ).fetchone() == (450, 450)
    # These endpoints do not exist: keep the worker processes of later tests away from them.
    owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE tenant_id = %s", (w.tenant_id,))


# -- subscriptions -----------------------------------------------------------------------------


def test_webhook_subscription_rules_and_secret_storage(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    customer = make_customer(tenant)
    refused = {
        "ftp://hooks.example.com/x": "https",
        "http://hooks.example.com/x": "https",
        "https://user:pw@hooks.example.com/x": "credentials",
        "not a url": "",
    }
    for url in refused:
        payload = gql.data(
            WEBHOOK_CREATE, {"input": {"url": url, "events": ["ORDER_PAID"]}}, token=tenant.admin_token
        )["webhookSubscriptionCreate"]
        assert payload["webhookSubscription"] is None and payload["secret"] is None
        assert payload["errors"][0]["code"] == "INVALID" and payload["errors"][0]["field"] == [
            "input",
            "url",
        ], url
    empty = gql.data(
        WEBHOOK_CREATE,
        {"input": {"url": "https://hooks.example.com/", "events": []}},
        token=tenant.admin_token,
    )["webhookSubscriptionCreate"]
    assert empty["errors"][0]["field"] == ["input", "events"]
    forbidden = gql.data(
        WEBHOOK_CREATE,
        {"input": {"url": "https://hooks.example.com/", "events": ["ORDER_PAID"]}},
        token=customer.token,
    )["webhookSubscriptionCreate"]
    assert forbidden["errors"][0]["code"] == "FORBIDDEN"
    assert gql(SUBSCRIPTIONS, {}, token=customer.token)["errors"]

    sub_id, secret = subscribe(
        gql, tenant, "http://127.0.0.1:9/loopback-in-test", ["ORDER_PAID", "ORDER_PLACED"]
    )
    assert secret.startswith("whsec_") and len(secret) > 40
    row = owner_db.execute(
        "SELECT * FROM webhook_subscription WHERE id = %s", (global_id.decode(sub_id)[1],)
    ).fetchone()
    raw_secret = secret.removeprefix("whsec_")
    assert all(raw_secret not in str(value) for value in row), "the secret must not be stored"
    import base64
    import hashlib

    assert hashlib.sha256(base64.b64decode(raw_secret)).hexdigest() in row
    subs = gql.data(SUBSCRIPTIONS, {}, token=tenant.admin_token)["webhookSubscriptions"]
    assert subs == [
        {
            "id": sub_id,
            "url": "http://127.0.0.1:9/loopback-in-test",
            "events": ["ORDER_PAID", "ORDER_PLACED"],
            "active": True,
            "deliveries": [],
        }
    ]
    # Another tenant's admin sees none of it.
    other = make_tenant()
    assert gql.data(SUBSCRIPTIONS, {}, token=other.admin_token)["webhookSubscriptions"] == []
    node_q = "query($id: ID!) { node(id: $id) { id } }"
    assert gql.data(node_q, {"id": sub_id}, token=other.admin_token)["node"] is None
    assert gql.data(node_q, {"id": sub_id}, token=tenant.admin_token)["node"] == {"id": sub_id}


def test_list_queries_use_a_fixed_number_of_statements(
    gql, make_tenant, make_customer, owner_db, sql_statements,  # type: ignore[no-untyped-def]
):
    """N+1 guard: more subscriptions, deliveries and notifications do not mean more statements."""
    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)

    def grow(n: int) -> None:
        for _ in range(n):
            subscribe(gql, tenant, f"https://hooks.example.com/{uuid.uuid4().hex}", ["ORDER_PAID"])
        emit_events(w.tenant_id, [("ORDER_PAID", "order", w.order_id, {"i": i}) for i in range(n)])
        relay(w.tenant_id)
        # Unreachable endpoints: keep later tests' workers away from them.
        owner_db.execute("UPDATE delivery SET status = 'FAILED' WHERE tenant_id = %s", (w.tenant_id,))

    def count(query: str, token: str) -> int:
        sql_statements.clear()
        gql.data(query, {}, token=token)
        return len(sql_statements)

    grow(2)
    subs_small, inbox_small = count(SUBSCRIPTIONS, tenant.admin_token), count(NOTIFICATIONS, w.customer_token)
    grow(5)
    assert len(gql.data(SUBSCRIPTIONS, {}, token=tenant.admin_token)["webhookSubscriptions"]) == 7
    assert len(gql.data(NOTIFICATIONS, {}, token=w.customer_token)["notifications"]["edges"]) == 7
    assert count(SUBSCRIPTIONS, tenant.admin_token) == subs_small
    assert count(NOTIFICATIONS, w.customer_token) == inbox_small


@pytest.mark.parametrize(("url", "allowed", "ok"), [
    ("https://hooks.example.com/x", "", True),
    ("https://hooks.example.com:8443/x?a=1", "", True),
    ("http://hooks.example.com/x", "", False),
    ("http://hooks.example.com/x", "127.0.0.0/8", False),
    ("http://127.0.0.1:8080/x", "", False),
    ("https://127.0.0.1/x", "", False),
    ("https://10.1.2.3/x", "", False),
    ("https://169.254.169.254/latest", "", False),
    ("https://[::1]/x", "", False),
    ("https://localhost/x", "", False),
    ("http://127.0.0.1:8080/x", "127.0.0.0/8", True),
    ("http://[::1]:8080/x", "::1/128", True),
    ("http://[::1]:8080/x", "127.0.0.0/8", False),
    ("http://localhost:8080/x", "127.0.0.0/8,::1/128", True),
    ("http://localhost:8080/x", "127.0.0.0/8", True),
    ("http://localhost:8080/x", "10.0.0.0/8", False),
    ("http://192.168.1.5/x", "127.0.0.0/8", False),
    ("https://hooks.example.com:99999/x", "", False),
    ("https://user@hooks.example.com/x", "", False),
])
def test_webhook_url_rules(url: str, allowed: str, ok: bool) -> None:
    from service.errors import Collector
    from service.notify.netpolicy import Policy, parse_networks
    from service.notify.webhooks import check_url

    errors = Collector()
    check_url(url, errors, policy=Policy(parse_networks(allowed)))
    assert (errors.errors == []) is ok, (url, allowed, errors.errors)


async def _as_owner(fn):  # type: ignore[no-untyped-def]
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service.db import owner_url

    engine = create_async_engine(owner_url(), poolclass=NullPool)
    try:
        return await fn(owner=engine)
    finally:
        await engine.dispose()


def test_an_event_that_cannot_be_relayed_delays_only_itself(  # type: ignore[no-untyped-def]
    make_tenant, make_customer, owner_db,
):
    """A failure injected in the database (a trigger refusing one event's notification): the other
    events of the batch are relayed; the bad one is retried a few times, then left pending."""
    from service.notify.relay import MAX_RELAY_FAILURES, tenants_with_pending_events

    tenant = make_tenant()
    w = make_world(owner_db, tenant, make_customer)
    poison = uuid.uuid4()
    emit_events(w.tenant_id, [
        ("ORDER_PAID", "order", w.order_id, {}),
        ("BATCH_OPENED", "batch", poison, {"userIds": [str(w.customer_id)]}),
        ("ORDER_PICKED_UP", "order", w.order_id, {}),
    ])
    name = f"refuse_{poison.hex}"
    owner_db.execute(f"""CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF EXISTS (SELECT 1 FROM outbox_event
                      WHERE tenant_id = NEW.tenant_id AND id = NEW.outbox_event_id
                        AND subject_id = '{poison}') THEN
            RAISE EXCEPTION 'injected failure';
          END IF;
          RETURN NEW;
        END $$""")
    owner_db.execute(f"CREATE TRIGGER {name} BEFORE INSERT ON notification "
                     f"FOR EACH ROW EXECUTE FUNCTION {name}()")
    try:
        for _ in range(MAX_RELAY_FAILURES + 2):
            relay(w.tenant_id)
        assert notifications_of(owner_db, w.tenant_id) == {("ORDER_PAID", w.customer_id),
                                                           ("ORDER_PICKED_UP", w.customer_id)}
        attempts, relayed_at = owner_db.execute(
            "SELECT attempts, relayed_at FROM outbox_event WHERE tenant_id = %s AND subject_id = %s",
            (w.tenant_id, poison)).fetchone()
        assert (attempts, relayed_at) == (MAX_RELAY_FAILURES, None)
        assert w.tenant_id not in asyncio.run(_as_owner(tenants_with_pending_events))
    finally:
        owner_db.execute(f"DROP TRIGGER {name} ON notification")
        owner_db.execute(f"DROP FUNCTION {name}()")
