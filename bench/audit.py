"""The audit log's cost on an admin mutation: `orderMarkPaid` by API key.

Part of `make bench` (`python -m bench --only audit`), or standalone:
`.venv/bin/python -m bench.audit [--orders 400] [--threads 8] [--runs 3]` (private embedded
PostgreSQL and Redis in bench/.data/audit/). In the same run, back to back, `--runs` times:

1. The mutation's transaction in-process, as the app role, alternately without and with its
   audit entry (the per-tenant advisory lock, the chain head's read, the hashed insert): median
   latency of each and their ratio.
2. The same with `--threads` transactions of one tenant at once (they queue on the tenant's
   chain lock from the entry's insert to their commit): throughput of each and their ratio.
3. The whole request over HTTP to the API as in production (`groupbuy serve`), audit included:
   its median, against which the entry's added time is set.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Env, free_port, load_average, log, servers, start_api


def make_orders(env: Env, n: int) -> list[uuid.UUID]:
    """`n` orders PENDING_PAYMENT, written as the owner."""
    t = env.tenant_id
    now = datetime.now(UTC)
    supplier, product, batch, offer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    leader_user, leader, point, customer = uuid.uuid4(), uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    orders = [uuid.uuid4() for _ in range(n)]
    with env.owner() as conn, conn.transaction():
        conn.execute("INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'Farm')", (t, supplier))
        conn.execute("INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
                     "VALUES (%s, %s, %s, 'Rice', 'bag', 500, true)", (t, product, supplier))
        cur = conn.cursor()
        cur.executemany("INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
                        "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')",
                        [(t, leader_user, "Leader", "+8613900000001"), (t, customer, "Buyer", "+8613900000002")])
        conn.execute("INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, "
                     "approved_at) VALUES (%s, %s, %s, 'Leader', '+8613900000001', 'APPROVED', 0.1, now())",
                     (t, leader, leader_user))
        conn.execute("INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, "
                     "active) VALUES (%s, %s, %s, 'Shop', '1 Road', 31.2, 121.4, true)", (t, point, leader))
        conn.execute("INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at) "
                     "VALUES (%s, %s, 'Bench', 'OPEN', %s, %s, %s, %s)",
                     (t, batch, now - timedelta(hours=1), now + timedelta(days=2), (now + timedelta(days=3)).date(),
                      now - timedelta(hours=1)))
        conn.execute("INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
                     "per_customer_limit, min_group_quantity) VALUES (%s, %s, %s, %s, 0, 990, NULL, NULL, 1)",
                     (t, offer, batch, product))
        cur.executemany(
            "INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
            "customer_name, leader_id, commission_rate, status, currency, total_minor, pickup_code, "
            "idempotency_key, request_hash, commit_checked_at) VALUES (%s, %s, %s, %s, %s, %s, 'Buyer', %s, 0.1, "
            "'PENDING_PAYMENT', 'CNY', 990, %s, %s, 'h', clock_timestamp())",
            [(t, o, f"B{i:08d}", batch, point, customer, leader, f"{i:06d}", o.hex) for i, o in enumerate(orders)])
        cur.executemany(
            "INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, "
            "quantity, unit_price_minor) VALUES (%s, %s, %s, %s, %s, 0, 'Rice', 1, 990)",
            [(t, uuid.uuid4(), o, offer, product) for o in orders])
    with env.owner() as conn:
        conn.execute("ANALYZE")
    return orders


async def api_key(env: Env) -> tuple[str, uuid.UUID]:
    from service.accounts import operations
    from service.db import tenant_transaction

    assert env.tenant_id is not None
    async with tenant_transaction(env.tenant_id) as session:
        secret = await operations.create_api_key(session, tenant_id=env.tenant_id, name="bench", created_by=None)
    with env.owner() as conn:
        key_id = conn.execute("SELECT id FROM api_key WHERE tenant_id = %s AND name = 'bench'",
                              (env.tenant_id,)).fetchone()[0]
    return secret, key_id


async def mark_paid(tenant_id: uuid.UUID, order_id: uuid.UUID, key_id: uuid.UUID, audited: bool) -> float:
    """One orderMarkPaid transaction as the resolver runs it; its seconds."""
    from service import global_id
    from service.audit.recorder import Scope, record
    from service.db import tenant_transaction
    from service.orders import payment

    started = time.perf_counter()
    async with tenant_transaction(tenant_id) as session:
        async with session.begin_nested():
            await payment.mark_paid(session, tenant_id=tenant_id, order_id=order_id, payment_reference="bench")
        if audited:
            gid = global_id.encode("Order", order_id)
            await record(session, Scope("orderMarkPaid", {"id": gid, "payment_reference": "bench"}),
                         tenant_id=tenant_id, actor_kind="api_key", actor_id=key_id, object_id=gid,
                         request_id=uuid.uuid4().hex, session_tenant=tenant_id)
    return time.perf_counter() - started


async def sequential(tenant_id: uuid.UUID, orders: list[uuid.UUID], key_id: uuid.UUID) -> dict[str, Any]:
    without: list[float] = []
    with_: list[float] = []
    for i, order in enumerate(orders):  # alternate, so both see the same machine
        audited = i % 2 == 1
        (with_ if audited else without).append(await mark_paid(tenant_id, order, key_id, audited))
    a, b = statistics.median(without) * 1000, statistics.median(with_) * 1000
    return {"without_ms": round(a, 3), "with_ms": round(b, 3), "added_ms": round(b - a, 3),
            "ratio": round(b / a, 3), "n": len(orders)}


async def concurrent(tenant_id: uuid.UUID, orders: list[uuid.UUID], key_id: uuid.UUID, threads: int,
                     audited: bool) -> float:
    """Transactions per second with `threads` at once on one tenant."""
    queue = list(orders)

    async def worker() -> None:
        while queue:
            await mark_paid(tenant_id, queue.pop(), key_id, audited)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(threads)))
    return len(orders) / (time.perf_counter() - started)


def over_http(env: Env, secret: str, orders: list[uuid.UUID]) -> dict[str, Any]:
    import httpx

    from service import global_id

    port = free_port()
    start_api(env, port=port, workers=1)
    query = ("mutation($id: ID!) { orderMarkPaid(id: $id, paymentReference: \"http\") "
             "{ order { id status } errors { code } } }")
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30,
                      headers={"Authorization": f"Bearer {secret}"}) as http:
        for order in orders:
            started = time.perf_counter()
            body = http.post("/graphql", json={"query": query, "variables": {"id": global_id.encode("Order", order)}})
            times.append(time.perf_counter() - started)
            assert body.json()["data"]["orderMarkPaid"]["errors"] == [], body.text
    return {"median_ms": round(statistics.median(times) * 1000, 3), "n": len(orders)}


def spread(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3),
            "max": round(max(values), 3), "runs": len(values)}


def run(env: Env, *, runs: int = 3, orders: int = 400, threads: int = 8) -> dict[str, Any]:
    """`runs` repeats of (1) and (2) in the same run, then (3) once; ratios with their spread."""
    assert env.tenant_id is not None
    n = orders
    made = make_orders(env, n * (3 * runs + 1))
    chunks = [made[i * n:(i + 1) * n] for i in range(3 * runs + 1)]

    async def in_process() -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
        from service.db import dispose_engines

        try:
            secret, key_id = await api_key(env)
            assert env.tenant_id is not None
            for order in chunks[0][:20]:  # warm the pool and the plans
                await mark_paid(env.tenant_id, order, key_id, True)
            seqs, concs = [], []
            for r in range(runs):
                seq_orders, conc_a, conc_b = chunks[1 + 3 * r:4 + 3 * r]
                seqs.append(await sequential(env.tenant_id, seq_orders, key_id))
                without = await concurrent(env.tenant_id, conc_a, key_id, threads, False)
                with_ = await concurrent(env.tenant_id, conc_b, key_id, threads, True)
                concs.append({"without_tps": round(without, 1), "with_tps": round(with_, 1),
                              "ratio": round(with_ / without, 3)})
                log(f"audit run {r + 1}/{runs}: sequential {seqs[-1]}; {threads} at once {concs[-1]}")
            return seqs, concs, secret
        finally:
            await dispose_engines()

    seqs, concs, secret = asyncio.run(in_process())
    http = over_http(env, secret, chunks[0][20:120])  # enough for a median; HTTP is slow under load
    added = statistics.median(s["added_ms"] for s in seqs)
    result = {
        "sequential_ratio": spread([s["ratio"] for s in seqs]),
        "sequential_without_ms": spread([s["without_ms"] for s in seqs]),
        "sequential_with_ms": spread([s["with_ms"] for s in seqs]),
        "added_ms": spread([s["added_ms"] for s in seqs]),
        "concurrent_ratio": spread([c["ratio"] for c in concs]),
        "threads": threads,
        "http_median_ms": http["median_ms"],
        "share_of_http": round(added / http["median_ms"], 3),
        "load_average": round(load_average(), 1),
        "runs": {"sequential": seqs, "concurrent": concs},
    }
    log(f"orderMarkPaid by API key over HTTP (audit included): {http}; the entry is "
        f"{result['share_of_http']:.1%} of it")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=400, help="orders per measurement")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="repeats of each comparison")
    args = parser.parse_args()
    with servers("audit") as env:
        result = run(env, runs=args.runs, orders=args.orders, threads=args.threads)
    log(f"{ {k: v for k, v in result.items() if k != 'runs'} }")


if __name__ == "__main__":
    main()
