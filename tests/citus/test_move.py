"""Moving a live tenant: `citus_move_shard_placement` moves a tenant's co-located shards (every
table of its shard group) to the other worker while its customers place orders and its admins
write the catalog through the HTTP API against the coordinator. Nothing committed is lost, nothing
is oversold, and the placements are read from `citus_shards` before and after.

What the move locks is sampled from `pg_locks` on every node while it runs and printed."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg

from service import global_id
from tests.ordering_fixtures import (
    bulk_customers,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
)
from tests.reliability.invariants import check_stock_slots

PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id lines { offer { id } } } errors { code message } }
}"""
SUPPLIER_CREATE = """
mutation($input: SupplierInput!) { supplierCreate(input: $input) { supplier { id } errors { code message } } }"""
STOCK = 60  # the limited offer sells out while the writers run
WRITERS = 6
AFTER_MOVE = 20  # commits the writers must make after the move, to show the tenant still works


def tenant_placements(owner_db: psycopg.Connection, tenant: uuid.UUID) -> dict[str, int]:
    """Every distributed table's shard holding the tenant, and the port of the worker it sits on."""
    return dict(owner_db.execute(
        "SELECT ct.table_name::text, cs.nodeport FROM citus_tables ct JOIN citus_shards cs "
        "ON cs.shardid = get_shard_id_for_distribution_column(ct.table_name, %s) "
        "WHERE ct.citus_table_type = 'distributed'", (tenant,)).fetchall())


def tenant_shard_ids(owner_db: psycopg.Connection, tenant: uuid.UUID) -> list[int]:
    return [r[0] for r in owner_db.execute(
        "SELECT get_shard_id_for_distribution_column(table_name, %s) FROM citus_tables "
        "WHERE citus_table_type = 'distributed'", (tenant,))]


# Citus's advisory lock classes (pg_locks.objsubid; src/include/distributed/resource_lock.h), and
# whether the lock's key (objid) is a shard id.
CITUS_LOCKS = {4: ("shard metadata", True), 5: ("shard", True), 7: ("rebalance co-location", False),
               8: ("co-located shards metadata", False), 9: ("operation", False),
               13: ("placement co-location", False), 16: ("shard move", True)}


class LockSampler(threading.Thread):
    """Samples pg_locks on every node every 20 ms: locks on the tenant's tables (on the
    coordinator) and shards (on the workers, relations named <table>_<shardid>), and Citus's
    advisory locks (those keyed by a shard id: on the tenant's shards only)."""

    def __init__(self, nodes: dict[str, str], shard_ids: list[int], tables: list[str]) -> None:
        super().__init__(daemon=True)
        self.nodes = nodes
        self.suffixes = tuple(f"_{s}" for s in shard_ids)
        self.shard_ids = set(shard_ids)
        self.tables = set(tables)
        self.seen: Counter = Counter()
        self.stop = threading.Event()

    def run(self) -> None:
        conns = {name: psycopg.connect(url, autocommit=True) for name, url in self.nodes.items()}
        try:
            while not self.stop.is_set():
                for name, conn in conns.items():
                    for locktype, mode, granted, relation, objid, kind in conn.execute(
                        "SELECT locktype, mode, granted, CASE WHEN locktype = 'relation' THEN "
                        "relation::regclass::text END, objid::bigint, objsubid FROM pg_locks "
                        "WHERE pid <> pg_backend_pid() AND locktype IN ('relation', 'advisory')"):
                        if locktype == "relation":
                            if relation in self.tables:
                                what = "table"
                            elif relation and relation.endswith(self.suffixes):
                                what = "shard"
                            else:
                                continue
                        elif kind in CITUS_LOCKS and (objid in self.shard_ids or not CITUS_LOCKS[kind][1]):
                            what = f"advisory: {CITUS_LOCKS[kind][0]}"
                        else:
                            continue
                        self.seen[(name, what, mode, "granted" if granted else "WAITING")] += 1
                self.stop.wait(0.02)
        finally:
            for conn in conns.values():
                conn.close()

    def report(self) -> list[str]:
        return [f"  {n}: {what} {mode} {state} x{k}" for (n, what, mode, state), k in sorted(self.seen.items())]


@dataclass
class Writers:
    """Threads posting one mutation after another to the API until told to stop. `attempt(n)` returns
    the variables and token of writer n's next write; a write answered with an internal error or
    no answer is retried with the same variables (an idempotency key makes an order safe to retry)."""

    api_url: str
    attempt: Callable[[int, int], tuple[str, dict, str]]  # (writer, k) -> (query, variables, token)
    classify: Callable[[dict], tuple[str, Any]]  # payload -> (code, id or None)
    results: list[tuple[float, str, Any, dict]] = field(default_factory=list)
    retried: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _run(self, n: int) -> None:
        with httpx.Client(base_url=self.api_url, timeout=120) as client:
            k = 0
            while not self.stop.is_set():
                query, variables, token = self.attempt(n, k)
                k += 1
                for _ in range(20):
                    try:
                        response = client.post("/graphql", json={"query": query, "variables": variables},
                                               headers={"Authorization": f"Bearer {token}"})
                        body = response.json()
                    except (httpx.HTTPError, ValueError):
                        body = {}
                    if body.get("data") and not body.get("errors"):
                        code, value = self.classify(next(iter(body["data"].values())))
                        with self.lock:
                            self.results.append((time.monotonic(), code, value, variables))
                        break
                    with self.lock:
                        self.retried += 1
                    time.sleep(0.1)
                else:
                    raise AssertionError(f"a write kept failing: {body}")

    def start(self, count: int) -> None:
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(count)]
        for t in self.threads:
            t.start()

    def ok_count(self) -> int:
        with self.lock:
            return sum(1 for r in self.results if r[1] == "OK")

    def wait_for(self, condition: Callable[[], bool], timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert all(t.is_alive() for t in self.threads), "a writer died"
            assert time.monotonic() < deadline, "the writers made no progress"
            time.sleep(0.05)

    def finish(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(180)
        assert not any(t.is_alive() for t in self.threads)


def move_while(owner_db: psycopg.Connection, citus_cluster: Any, tenant: uuid.UUID, writers: Writers,
               *, done: Callable[[], bool]) -> dict[str, Any]:
    """Lets the writers commit 20 writes, moves the tenant's shard group to the other worker (online,
    by logical replication) while they go on, lets them commit AFTER_MOVE more and `done()` hold."""
    before = tenant_placements(owner_db, tenant)
    (source,) = set(before.values())  # co-located: every table of the tenant on one worker
    (target,) = {w.port for w in citus_cluster.worker_nodes} - {source}
    shard = owner_db.execute("SELECT get_shard_id_for_distribution_column('customer_order', %s)",
                             (tenant,)).fetchone()[0]
    nodes = {"coordinator": citus_cluster.coordinator.url()}
    nodes |= {("source worker" if w.port == source else "target worker"): w.url() for w in citus_cluster.worker_nodes}
    sampler = LockSampler(nodes, tenant_shard_ids(owner_db, tenant), list(before))
    writers.wait_for(lambda: writers.ok_count() >= 20)
    sampler.start()
    started = time.monotonic()
    owner_db.execute("SELECT citus_move_shard_placement(%s, '127.0.0.1', %s, '127.0.0.1', %s, "
                     "shard_transfer_mode => 'force_logical')", (shard, source, target))
    ended = time.monotonic()
    sampler.stop.set()
    sampler.join(30)
    moved_at = writers.ok_count()
    writers.wait_for(lambda: writers.ok_count() >= moved_at + AFTER_MOVE and done())
    writers.finish()
    after = tenant_placements(owner_db, tenant)
    assert set(before) == set(after) and len(after) > 30, sorted(after)
    assert set(after.values()) == {target}, f"shards left behind: {[t for t, p in after.items() if p != target]}"
    commits = sorted(t for t, code, _, _ in writers.results if code == "OK")
    during = [t for t in commits if started <= t <= ended]
    gaps = [b - a for a, b in zip(commits, commits[1:], strict=False) if started <= b and a <= ended]
    return {"source": source, "target": target, "tables": len(after), "seconds": ended - started,
            "during": len(during), "longest_pause": max(gaps, default=0.0), "locks": sampler.report()}


def _print(what: str, figures: dict[str, Any], writers: Writers) -> None:
    print(f"tenant move with {what}: {figures['tables']} shards from :{figures['source']} to :{figures['target']} "
          f"in {figures['seconds']:.1f} s; {figures['during']} committed during the move, longest gap between "
          f"commits {figures['longest_pause'] * 1000:.0f} ms; {len(writers.results)} answered, "
          f"{writers.retried} retried; locks seen on the tenant's shards during the move:")
    print("\n".join(figures["locks"]))


def test_a_tenant_moves_while_its_admins_write_the_catalog(make_tenant, owner_db, citus_cluster, api_url):  # type: ignore[no-untyped-def]
    tenant = make_tenant()

    def attempt(n: int, k: int) -> tuple[str, dict, str]:
        return SUPPLIER_CREATE, {"input": {"name": f"Farm {n}-{k}"}}, tenant.admin_token

    def classify(payload: dict) -> tuple[str, Any]:
        if payload["errors"]:
            return payload["errors"][0]["code"], None
        return "OK", global_id.decode_as(payload["supplier"]["id"], "Supplier")

    writers = Writers(api_url, attempt, classify)
    writers.start(WRITERS)
    try:
        figures = move_while(owner_db, citus_cluster, tenant.uuid, writers, done=lambda: True)
    finally:
        writers.finish()
    codes = Counter(code for _, code, _, _ in writers.results)
    assert codes == Counter({"OK": len(writers.results)}), codes
    assert figures["during"] > 0, "no write committed while the shards moved"
    answered = {value for _, _, value, _ in writers.results}
    stored = {r[0] for r in owner_db.execute("SELECT id FROM supplier WHERE tenant_id = %s", (tenant.uuid,))}
    assert stored == answered, (len(stored), len(answered))
    _print("catalog writes", figures, writers)


def test_a_tenant_moves_while_its_customers_place_orders(gql, make_tenant, owner_db, citus_cluster, api_url):  # type: ignore[no-untyped-def]
    """Half the orders take one unit of an offer with STOCK units (it sells out during the run),
    half one of an unlimited offer (orders go on after it sold out)."""
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=STOCK), offer_input(world, 1)])
    limited, unlimited = (o["id"] for o in batch["offers"])
    customers = [token for _, token in bulk_customers(owner_db, tenant, 120)]

    def attempt(n: int, k: int) -> tuple[str, dict, str]:
        token = customers[(n * 7919 + k) % len(customers)]
        return PLACE, place_input(batch, world, [((n + k) % 2, 1)]), token

    def classify(payload: dict) -> tuple[str, Any]:
        if payload["errors"]:
            return payload["errors"][0]["code"], None
        order = payload["order"]
        return "OK", (global_id.decode_as(order["id"], "Order"), order["lines"][0]["offer"]["id"])

    def sold_out() -> bool:
        with writers.lock:
            return any(code == "OUT_OF_STOCK" for _, code, _, _ in writers.results)

    writers = Writers(api_url, attempt, classify)
    writers.start(WRITERS)
    try:
        figures = move_while(owner_db, citus_cluster, tenant.uuid, writers, done=sold_out)
    finally:
        writers.finish()
    codes = Counter(code for _, code, _, _ in writers.results)
    assert set(codes) == {"OK", "OUT_OF_STOCK"}, codes
    assert figures["during"] > 0, "no order committed while the shards moved"
    ok = [value for _, code, value, _ in writers.results if code == "OK"]
    by_offer = Counter(offer for _, offer in ok)
    # Only the limited offer is ever out of stock, and only once all of it sold: no oversell, no undersell.
    out = [v for _, code, _, v in writers.results if code == "OUT_OF_STOCK"]
    assert {v["input"]["lines"][0]["offerId"] for v in out} == {limited}
    assert by_offer[limited] == STOCK, by_offer
    assert offer_state(owner_db, limited) == (STOCK, STOCK, STOCK)
    assert offer_state(owner_db, unlimited) == (by_offer[unlimited], None, by_offer[unlimited])
    # Every order answered OK is stored, and nothing else is.
    stored = {r[0] for r in owner_db.execute(
        "SELECT id FROM customer_order WHERE tenant_id = %s AND batch_id = %s",
        (tenant.uuid, global_id.decode_as(batch["id"], "Batch")))}
    assert stored == {order for order, _ in ok}, (len(stored), len(ok))
    check_stock_slots(owner_db, [tenant.uuid])
    _print("orders", figures, writers)
