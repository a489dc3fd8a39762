"""Tenants, batches and customers on a running cluster, and a bounded load of customers ordering,
paying, cancelling and replaying, round-robin over the API processes, retrying transport errors
and internal errors with the same idempotency key."""

from __future__ import annotations

import itertools
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg

from service import global_id
from tests.reliability.cluster import Cluster
from tests.webhook_sink import WebhookSink

TENANT_CREATE = """
mutation($input: TenantCreateInput!) {
  tenantCreate(input: $input) { tenant { id slug } apiKey errors { code field message } }
}"""
TOKEN_CREATE = """
mutation($input: TokenCreateInput!) { tokenCreate(input: $input) { token errors { code message } } }"""
CUSTOMER_REGISTER = """
mutation($input: CustomerRegisterInput!) {
  customerRegister(input: $input) { token viewer { userId } errors { code field message } }
}"""
WEBHOOK_CREATE = """
mutation($input: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(input: $input) { webhookSubscription { id } secret errors { code message } }
}"""
BATCH_CREATE = """
mutation($input: BatchCreateInput!) {
  batchCreate(input: $input) { batch { id offers { id } } errors { code field message } }
}"""
BATCH_PUBLISH = "mutation($id: ID!) { batchPublish(id: $id) { batch { id status } errors { code message } } }"
BATCH_CLOSE = "mutation($id: ID!) { batchClose(id: $id) { batch { id status } errors { code message } } }"
ORDER_PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id status total { amount } } errors { code field message } }
}"""
ORDER_PAY = """
mutation($id: ID!, $ref: String!) {
  orderMarkPaid(id: $id, paymentReference: $ref) { order { id status } errors { code message } }
}"""
ORDER_CANCEL = "mutation($id: ID!) { orderCancel(id: $id) { order { id status } errors { code message } } }"

EVENTS = [
    "ORDER_PLACED",
    "ORDER_PAID",
    "ORDER_CANCELLED",
    "ORDER_READY_FOR_PICKUP",
    "ORDER_PICKED_UP",
    "BATCH_OPENED",
    "BATCH_CLOSED",
    "BATCH_CANCELLED",
    "PURCHASE_ORDER_CREATED",
    "PICK_LIST_READY",
    "REFUND_CREATED",
]

# (product index, price, stockLimit, perCustomerLimit, minGroupQuantity): one offer sells out, one
# has no stock limit, one never reaches its minimum (refunds at the close), one a small minimum.
OFFERS = [
    (0, "12.90", 15, 3, 1),
    (1, "3.50", None, 5, 1),
    (2, "25.00", 200, 2, 150),
    (3, "7.77", 25, None, 5),
]


class Client:
    """GraphQL over HTTP, round-robin over the API processes. `call` retries what a client cannot
    tell from 'not done' (connection refused or reset, 5xx, INTERNAL_SERVER_ERROR) with the
    same request, so an idempotency key is what keeps a retried order single."""

    def __init__(self, urls: list[str], timeout: float = 30) -> None:
        self.urls = urls
        self.http = httpx.Client(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=4))
        self._rr = itertools.count(random.randrange(1000))
        self.attempts: Counter[str] = Counter()  # outcome of every HTTP attempt
        self.samples: dict[str, Any] = {}  # one answer of each outcome other than ok

    def close(self) -> None:
        self.http.close()

    def once(
        self,
        query: str,
        variables: dict | None = None,
        *,
        token: str | None = None,
        tenant: str | None = None,
        url: str | None = None,
    ) -> tuple[str, dict | None]:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if tenant:
            headers["X-Tenant"] = tenant
        url = url or self.urls[next(self._rr) % len(self.urls)]
        try:
            r = self.http.post(
                f"{url}/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        except httpx.TransportError as e:
            return f"transport:{type(e).__name__}", None
        if r.status_code >= 500:
            return f"http_{r.status_code}", None
        body = r.json()
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors") or []]
        if "INTERNAL_SERVER_ERROR" in codes:
            return "INTERNAL_SERVER_ERROR", body
        if codes:
            return f"top:{codes[0]}", body
        return "ok", body

    def call(
        self, query: str, variables: dict | None = None, *, retries: int = 40, **kw: Any
    ) -> tuple[str, dict | None]:
        for attempt in range(retries):
            outcome, body = self.once(query, variables, **kw)
            self.attempts[outcome] += 1
            if outcome != "ok" and outcome not in self.samples:
                self.samples[outcome] = body
            if outcome.startswith(("transport", "http_5")) or outcome == "INTERNAL_SERVER_ERROR":
                time.sleep(min(0.1 * (attempt + 1), 1.0))
                continue
            return outcome, body
        return "gave_up", None

    def data(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        outcome, body = self.call(query, variables, **kw)
        assert outcome == "ok", (outcome, body)
        return body["data"]


@dataclass
class TenantWorld:
    slug: str
    uuid: uuid.UUID
    admin_token: str
    api_key: str
    sink: WebhookSink
    subscription_id: str = ""
    point_ids: list[uuid.UUID] = field(default_factory=list)
    product_ids: list[uuid.UUID] = field(default_factory=list)
    customers: list[tuple[str, str]] = field(default_factory=list)  # (user global id, token)
    batches: dict[str, dict] = field(default_factory=dict)  # "early"/"late" -> {id, offers, closes_at}


def setup_tenant(
    client: Client, cluster: Cluster, owner: psycopg.Connection, n: int, customers: int
) -> TenantWorld:
    slug = f"rel{n}-{uuid.uuid4().hex[:6]}"
    email, password = f"admin@{slug}.example", "admin-password-1"
    payload = client.data(
        TENANT_CREATE,
        {"input": {"slug": slug, "name": f"Reliability {n}", "adminEmail": email, "adminPassword": password}},
        token=cluster.platform_token,
    )["tenantCreate"]
    assert payload["errors"] == [], payload
    token = client.data(TOKEN_CREATE, {"input": {"login": email, "password": password}}, tenant=slug)[
        "tokenCreate"
    ]
    assert token["errors"] == [], token
    sink = WebhookSink().__enter__()
    world = TenantWorld(
        slug, global_id.decode(payload["tenant"]["id"])[1], token["token"], payload["apiKey"], sink
    )
    created = client.data(
        WEBHOOK_CREATE, {"input": {"url": sink.url, "events": EVENTS}}, token=world.admin_token
    )["webhookSubscriptionCreate"]
    assert created["errors"] == [], created
    sink.secret = created["secret"]
    world.subscription_id = created["webhookSubscription"]["id"]

    t = world.uuid
    suppliers = [uuid.uuid4(), uuid.uuid4()]
    world.product_ids = [uuid.uuid4() for _ in range(4)]
    owner.cursor().executemany(
        "INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, %s)",
        [(t, s, f"Farm {k}") for k, s in enumerate(suppliers)],
    )
    owner.cursor().executemany(
        "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
        "VALUES (%s, %s, %s, %s, 'box', %s, true)",
        [(t, p, suppliers[k % 2], f"Product {k}", 300 + 100 * k) for k, p in enumerate(world.product_ids)],
    )
    for k, rate in enumerate(["0.1000", "0.1250"]):
        user, leader, point = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        owner.execute(
            "INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
            "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')",
            (t, user, f"Leader {k}", f"+8613{uuid.uuid4().int % 10**9:09d}"),
        )
        owner.execute(
            "INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, "
            "approved_at) VALUES (%s, %s, %s, %s, '+8613900000000', 'APPROVED', %s, now())",
            (t, leader, user, f"Leader {k}", rate),
        )
        owner.execute(
            "INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, "
            "active) VALUES (%s, %s, %s, 'Shop', '1 Road', 31.2, 121.4, true)",
            (t, point, leader),
        )
        world.point_ids.append(point)
    for c in range(customers):
        phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
        reg = client.data(
            CUSTOMER_REGISTER,
            {"input": {"displayName": f"Customer {c}", "phone": phone, "password": "customer-pass-1"}},
            tenant=slug,
        )["customerRegister"]
        assert reg["errors"] == [], reg
        world.customers.append((reg["viewer"]["userId"], reg["token"]))
    return world


def create_batch(client: Client, world: TenantWorld, name: str, closes_at: datetime, *, scale: int = 1) -> None:
    """`scale` multiplies the stock limits, for loads bigger than the default."""
    now = datetime.now(UTC)
    offers = [
        {
            "productId": global_id.encode("Product", world.product_ids[p]),
            "price": price,
            "stockLimit": stock * scale if stock is not None else None,
            "perCustomerLimit": per,
            "minGroupQuantity": minimum,
        }
        for p, price, stock, per, minimum in OFFERS
    ]
    created = client.data(
        BATCH_CREATE,
        {
            "input": {
                "title": f"{name} batch",
                "opensAt": (now - timedelta(seconds=30)).isoformat(),
                "closesAt": closes_at.isoformat(),
                "pickupDate": (closes_at + timedelta(days=2)).date().isoformat(),
                "offers": offers,
            }
        },
        token=world.admin_token,
    )["batchCreate"]
    assert created["errors"] == [], created
    batch = created["batch"]
    published = client.data(BATCH_PUBLISH, {"id": batch["id"]}, token=world.admin_token)["batchPublish"]
    assert published["errors"] == [], published
    world.batches[name] = {
        "id": batch["id"],
        "uuid": global_id.decode(batch["id"])[1],
        "offers": [o["id"] for o in batch["offers"]],
        "closes_at": closes_at,
    }


def wait_batches_open(owner: psycopg.Connection, worlds: list[TenantWorld], timeout: float = 30) -> None:
    ids = [b["uuid"] for w in worlds for b in w.batches.values()]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = owner.execute(
            "SELECT count(*) FROM batch WHERE id = ANY(%s) AND status = 'OPEN'", (ids,)
        ).fetchone()[0]
        if n == len(ids):
            return
        time.sleep(0.2)
    raise AssertionError("the scheduler did not open the batches")


# -- the load ----------------------------------------------------------------------------------


@dataclass
class Item:
    n: int
    tenant: int
    customer: int
    batch: str
    lines: list[tuple[int, int]]
    action: str  # pay, cancel, replay, none
    key: str


@dataclass
class Result:
    item: Item
    outcome: str  # ok, an error code, or gave_up
    order_id: str | None = None
    latency: float = 0.0
    follow_up: str | None = None
    replay_same: bool | None = None


@dataclass
class LoadReport:
    results: list[Result] = field(default_factory=list)
    attempts: Counter = field(default_factory=Counter)  # every HTTP attempt's outcome
    samples: dict = field(default_factory=dict)
    follow_ups: Counter = field(default_factory=Counter)
    started: float = 0.0
    finished: float = 0.0

    @property
    def outcomes(self) -> Counter:
        return Counter(r.outcome for r in self.results)


def make_items(rng: random.Random, worlds: list[TenantWorld], count: int) -> list[Item]:
    items = []
    for n in range(count):
        t = rng.randrange(len(worlds))
        chosen = rng.sample(range(len(OFFERS)), rng.choice([1, 1, 2]))
        items.append(
            Item(
                n,
                t,
                rng.randrange(len(worlds[t].customers)),
                rng.choice(["early", "late"]),
                [(f, rng.randint(1, 3)) for f in chosen],
                rng.choices(["pay", "cancel", "replay", "none"], [60, 10, 10, 20])[0],
                f"load-{n}-{uuid.uuid4().hex[:8]}",
            )
        )
    return items


def run_load(
    urls: list[str],
    worlds: list[TenantWorld],
    items: list[Item],
    *,
    threads: int,
    rate: float,
    progress: list[int] | None = None,
) -> LoadReport:
    """Each item's order starts no earlier than start + n / rate; a fixed count, so it stops."""
    report = LoadReport(started=time.monotonic())
    lock = threading.Lock()
    queue = iter(items)

    def work() -> None:
        client = Client(urls)
        try:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    return
                delay = report.started + item.n / rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                result = place(client, worlds[item.tenant], item)
                with lock:
                    report.results.append(result)
                    if result.follow_up:
                        report.follow_ups[f"{item.action}:{result.follow_up}"] += 1
                    if progress is not None:
                        progress[0] += 1
        finally:
            with lock:
                report.attempts.update(client.attempts)
                report.samples.update(client.samples)
            client.close()

    pool = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(600)
    report.finished = time.monotonic()
    return report


def place(client: Client, world: TenantWorld, item: Item) -> Result:
    batch = world.batches[item.batch]
    _, token = world.customers[item.customer]
    variables = {
        "input": {
            "batchId": batch["id"],
            "pickupPointId": global_id.encode("PickupPoint", world.point_ids[item.customer % 2]),
            "lines": [{"offerId": batch["offers"][f], "quantity": q} for f, q in item.lines],
            "idempotencyKey": item.key,
        }
    }
    t0 = time.monotonic()
    outcome, body = client.call(ORDER_PLACE, variables, token=token)
    latency = time.monotonic() - t0
    if outcome != "ok":
        return Result(item, outcome, latency=latency)
    payload = body["data"]["orderPlace"]
    if payload["errors"]:
        return Result(item, payload["errors"][0]["code"], latency=latency)
    result = Result(item, "ok", payload["order"]["id"], latency)
    order_id = result.order_id
    if item.action == "pay":
        o, b = client.call(ORDER_PAY, {"id": order_id, "ref": f"pay-{item.key}"}, token=world.api_key)
        result.follow_up = (
            o if o != "ok" else (b["data"]["orderMarkPaid"]["errors"] or [{"code": "ok"}])[0]["code"]
        )
    elif item.action == "cancel":
        o, b = client.call(ORDER_CANCEL, {"id": order_id}, token=token)
        result.follow_up = (
            o if o != "ok" else (b["data"]["orderCancel"]["errors"] or [{"code": "ok"}])[0]["code"]
        )
    elif item.action == "replay":  # the client never saw the answer and sends the same request again
        o, b = client.call(ORDER_PLACE, variables, token=token)
        if o == "ok":
            replayed = b["data"]["orderPlace"]
            result.replay_same = bool(replayed["order"]) and replayed["order"]["id"] == order_id
            result.follow_up = "same" if result.replay_same else f"different:{replayed['errors']}"
        else:
            result.follow_up = o
    return result


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]
