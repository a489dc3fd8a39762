"""Invariants 1-3 under real concurrency: many threads over HTTP against two separate API
processes sharing one PostgreSQL, then the database is checked directly.

No timing assertions: the cutoff race checks what committed, not how fast.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service import global_id
from tests.ordering_fixtures import (
    OFFER_QUERY,
    bulk_customers,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
)
from tests.reliability.invariants import check_stock_slots

PLACE = """
mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id } errors { code message } } }"""


# Every test runs against API processes that place each order alone, then against ones that
# place the orders meeting in a worker together (one lane per batch, so they queue and group).
METRICS_TOKEN = "ordering-metrics-token"
PLACEMENT = {"alone": {"GROUPBUY_ORDER_GROUP_MAX": "1"}, "grouped": {"GROUPBUY_ORDER_GROUP_LANES": "1"}}


@pytest.fixture(scope="module", params=list(PLACEMENT))
def api_processes(services, tmp_path_factory, request) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    """Two `groupbuy serve` processes: separate interpreters, pools and event loops, with
    metrics of their own."""
    from service.embedded import free_port

    env = {**os.environ, "GROUPBUY_DB_POOL_SIZE": "20", "GROUPBUY_LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("api-metrics")), **PLACEMENT[request.param]}
    env["GROUPBUY_METRICS_TOKEN"] = METRICS_TOKEN  # /metrics on the public listener needs it
    logs = tmp_path_factory.mktemp("api-logs")
    procs: list[subprocess.Popen] = []
    urls = []
    for n in range(2):
        port = free_port()
        log = open(Path(logs) / f"api-{n}.log", "w")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        for url, proc in zip(urls, procs, strict=True):
            while True:
                assert proc.poll() is None, f"API process exited; see {logs}"
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "API processes did not start"
                time.sleep(0.1)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


class Hammer:
    """Sends requests from many threads, alternating between the API processes."""

    def __init__(self, urls: list[str], threads: int) -> None:
        self.urls = urls
        self.threads = threads
        self.local = threading.local()

    def _client(self) -> httpx.Client:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = httpx.Client(timeout=120)
        return client

    def place(self, n: int, token: str, variables: dict) -> dict:
        url = self.urls[n % len(self.urls)]
        response = self._client().post(
            f"{url}/graphql",
            json={"query": PLACE, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]["orderPlace"]

    def run(self, jobs: list[tuple[str, dict]]) -> list[dict]:
        start = threading.Barrier(min(self.threads, len(jobs)))

        def one(item: tuple[int, tuple[str, dict]]) -> dict:
            n, (token, variables) = item
            if n < start.parties:
                start.wait()  # the first wave leaves together
            return self.place(n, token, variables)

        with ThreadPoolExecutor(self.threads) as pool:
            return list(pool.map(one, enumerate(jobs)))


def _codes(results: list[dict]) -> Counter:
    return Counter("OK" if not r["errors"] else r["errors"][0]["code"] for r in results)


def test_300_customers_race_for_50_units(gql, make_tenant, owner_db, api_processes):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=50)])
    customers = bulk_customers(owner_db, tenant, 300)
    jobs = [(token, place_input(batch, world, [(0, 1)])) for _, token in customers]
    results = Hammer(api_processes, threads=64).run(jobs)
    codes = _codes(results)
    assert codes == Counter({"OK": 50, "OUT_OF_STOCK": 250}), codes
    offer = batch["offers"][0]["id"]
    assert offer_state(owner_db, offer) == (50, 50, 50)
    check_stock_slots(owner_db, [tenant.uuid])
    assert owner_db.execute(
        "SELECT count(*), count(DISTINCT customer_id) FROM customer_order WHERE batch_id = %s",
        (global_id.decode_as(batch["id"], "Batch"),),
    ).fetchone() == (50, 50)
    assert gql.data(OFFER_QUERY, {"id": offer}, tenant=tenant.slug)["node"] == {
        "soldQuantity": 50,
        "remainingStock": 0,
        "stockLimit": 50,
    }


def test_one_customer_20_concurrent_orders_against_limit_2(gql, make_tenant, owner_db, api_processes):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, perCustomerLimit=2)])
    ((customer_id, token),) = bulk_customers(owner_db, tenant, 1)
    results = Hammer(api_processes, threads=20).run(
        [(token, place_input(batch, world, [(0, 1)])) for _ in range(20)]
    )
    assert _codes(results) == Counter({"OK": 2, "LIMIT_EXCEEDED": 18})
    offer_id = global_id.decode_as(batch["offers"][0]["id"], "Offer")
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (2, None, 2)
    assert owner_db.execute(
        "SELECT quantity FROM offer_customer_quantity WHERE offer_id = %s AND customer_id = %s",
        (offer_id, customer_id),
    ).fetchone() == (2,)


def test_20_concurrent_requests_with_one_idempotency_key(gql, make_tenant, owner_db, api_processes):  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=10)])
    ((_, token),) = bulk_customers(owner_db, tenant, 1)
    body = place_input(batch, world, [(0, 3)], key=f"retry-{uuid.uuid4().hex}")
    results = Hammer(api_processes, threads=20).run([(token, body) for _ in range(20)])
    assert all(not r["errors"] for r in results), _codes(results)
    assert len({r["order"]["id"] for r in results}) == 1
    assert owner_db.execute(
        "SELECT count(*) FROM customer_order WHERE batch_id = %s",
        (global_id.decode_as(batch["id"], "Batch"),),
    ).fetchone() == (1,)
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (3, 10, 3)


def test_orders_racing_the_cutoff_never_commit_at_or_after_it(gql, make_tenant, owner_db, api_processes):  # type: ignore[no-untyped-def]
    """Orders stream in from many threads; once they flow, the cutoff is set a second ahead
    (so the test does not depend on how fast the machine is); the stream goes on past it."""
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    customers = bulk_customers(owner_db, tenant, 40)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    batch_id = global_id.decode_as(batch["id"], "Batch")
    hammer = Hammer(api_processes, threads=len(customers))
    results: list[dict] = []
    lock = threading.Lock()
    done = threading.Event()

    def keep_ordering(n: int) -> None:
        _, token = customers[n]
        while not done.is_set():
            result = hammer.place(n, token, place_input(batch, world, [(0, 1)]))
            with lock:
                results.append(result)

    def count(code: str) -> int:
        with lock:
            return sum(1 for r in results if (r["errors"][0]["code"] if r["errors"] else "OK") == code)

    def wait_for(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + seconds
        while not condition() and time.monotonic() < deadline:
            time.sleep(0.05)

    with ThreadPoolExecutor(len(customers)) as pool:
        workers = [pool.submit(keep_ordering, n) for n in range(len(customers))]
        try:
            wait_for(lambda: count("OK") >= 5, 60)
            # Like a close: the gate first (fairly queued, so the stream cannot starve it), then the row.
            with owner_db.transaction():
                owner_db.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(CAST(%s AS text), 0))", (str(batch_id),)
                )
                closes_at = owner_db.execute(
                    "UPDATE batch SET closes_at = clock_timestamp() + interval '1 second' WHERE id = %s "
                    "RETURNING closes_at",
                    (batch_id,),
                ).fetchone()[0]
            wait_for(
                lambda: datetime.now(UTC) > closes_at + timedelta(seconds=1) and count("BATCH_NOT_OPEN") >= 5,
                60,
            )
        finally:
            done.set()
        for w in workers:
            w.result()
    codes = _codes(results)
    assert set(codes) == {"OK", "BATCH_NOT_OPEN"}, codes
    committed = owner_db.execute(
        "SELECT count(*), count(*) FILTER (WHERE commit_checked_at IS NULL), "
        "count(*) FILTER (WHERE commit_checked_at >= %s OR created_at >= %s) FROM customer_order "
        "WHERE batch_id = %s",
        (closes_at, closes_at, batch_id),
    ).fetchone()
    assert committed == (codes["OK"], 0, 0), (committed, codes)
    assert offer_state(owner_db, batch["offers"][0]["id"])[0] == codes["OK"]
    at_commit = sum(
        1 for r in results if r["errors"] and "before the order went through" in r["errors"][0]["message"]
    )
    print(
        f"cutoff race: {codes['OK']} committed, {codes['BATCH_NOT_OPEN']} refused "
        f"({at_commit} of them by the commit-time trigger)"
    )


def _statement_buckets(url: str) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10).text
    found = [f for f in text_string_to_metric_families(text) if f.name == "groupbuy_order_statement_orders"]
    return {s.labels["le"]: s.value for f in found for s in f.samples if s.name.endswith("_bucket")}


def test_orders_went_alone_or_together_as_configured(gql, make_tenant, owner_db, api_processes, request):  # type: ignore[no-untyped-def]
    """200 orders from 32 threads: the grouped processes place some several per statement, the
    others one per statement (the processes share their metrics: one scrape sums both)."""
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    customers = bulk_customers(owner_db, tenant, 200)
    before = _statement_buckets(api_processes[0])
    results = Hammer(api_processes, threads=32).run([(token, place_input(batch, world, [(0, 1)]))
                                                      for _, token in customers])
    assert _codes(results) == Counter({"OK": 200})
    after = _statement_buckets(api_processes[0])
    statements = after["+Inf"] - before.get("+Inf", 0)
    alone = after["1.0"] - before.get("1.0", 0)
    assert statements > 0, after
    if request.node.callspec.params["api_processes"] == "grouped":
        assert alone < statements, (before, after)
    else:
        assert alone == statements == 200, (before, after)
