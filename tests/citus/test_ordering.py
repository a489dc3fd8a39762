"""Invariants 1-3 on the cluster: the single node's races, run unchanged through the HTTP API of
two `groupbuy serve` processes whose database is the Citus coordinator (orders alone, then
grouped). place_order() and place_order_group() are delegated to the tenant's worker."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from service import global_id
from tests.ordering_fixtures import (
    bulk_customers,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
)
from tests.test_ordering_concurrency import (  # noqa: F401 - collected here, against the cluster
    Hammer,
    _codes,
    api_processes,
    test_20_concurrent_requests_with_one_idempotency_key,
    test_300_customers_race_for_50_units,
    test_one_customer_20_concurrent_orders_against_limit_2,
    test_orders_went_alone_or_together_as_configured,
)


def test_orders_racing_the_cutoff_never_commit_at_or_after_it(gql, make_tenant, owner_db, api_processes):  # type: ignore[no-untyped-def]  # noqa: F811
    """The single node's cutoff race; the cutoff is moved the way a close takes the gate on
    Citus (on the tenant's worker, with the new time computed first: Citus refuses a volatile
    function in an UPDATE)."""
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
            with owner_db.transaction():
                owner_db.execute(
                    "SELECT pg_advisory_xact_lock(hashtextextended(CAST(%s AS text), 0)) FROM batch "
                    "WHERE tenant_id = %s AND id = %s", (str(batch_id), tenant.uuid, batch_id))
                closes_at = owner_db.execute("SELECT clock_timestamp() + interval '1 second'").fetchone()[0]
                owner_db.execute("UPDATE batch SET closes_at = %s WHERE tenant_id = %s AND id = %s",
                                 (closes_at, tenant.uuid, batch_id))
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
        "WHERE tenant_id = %s AND batch_id = %s",
        (closes_at, closes_at, tenant.uuid, batch_id),
    ).fetchone()
    assert committed == (codes["OK"], 0, 0), (committed, codes)
    assert offer_state(owner_db, batch["offers"][0]["id"])[0] == codes["OK"]
    at_commit = sum(
        1 for r in results if r["errors"] and "before the order went through" in r["errors"][0]["message"]
    )
    print(f"cutoff race on Citus: {codes['OK']} committed, {codes['BATCH_NOT_OPEN']} refused "
          f"({at_commit} of them by the commit-time check)")


def test_tenants_of_the_races_sit_on_both_workers(make_tenant, owner_db):  # type: ignore[no-untyped-def]
    """The races above ran for tenants spread over the workers (each test makes its own)."""
    tenants = [r[0] for r in owner_db.execute("SELECT DISTINCT tenant_id FROM customer_order")]
    nodes = Counter(
        owner_db.execute("SELECT nodeport FROM citus_shards WHERE shardid = "
                         "get_shard_id_for_distribution_column('customer_order', %s)", (t,)).fetchone()[0]
        for t in tenants)
    print(f"tenants with orders per worker: {dict(nodes)}")
    assert len(nodes) == 2, nodes
