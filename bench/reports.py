"""The console's sales report at 1M order lines: each grouping over a month, a quarter and the whole
year, through the real query (service.reports.queries.sales_report, as the app role under RLS),
median of several runs (5 for the month, 3 for the others) with min and max; then EXPLAIN ANALYZE of each grouping over the month,
which must read the period through indexes (no sequential scan of orders, lines or refunds).

    .venv/bin/python -m bench.reports                 # 1,000,000 lines, 5 runs
    .venv/bin/python -m bench.reports --lines 20000 --runs 1 --no-write   # a quick check

The tenant's year (Asia/Shanghai) is made set-based as the owner with triggers and foreign-key
checks off (INSERT ... SELECT generate_series): one batch a day of 50 offers, 2,000 pickup points
with their leaders, 500 products of 50 suppliers, 20,000 customers, 4 lines an order; 5% of the
orders PENDING_PAYMENT and 10% CANCELLED (a third of those refunded whole), 1% with a refunded
line. A second tenant of a tenth of the size shares the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime
from typing import Any

from bench.common import RESULTS, Env, create_tenant, load_average, log, machine, servers

LINES_PER_ORDER, POINTS, PRODUCTS, SUPPLIERS, CUSTOMERS, OFFERS_PER_BATCH = 4, 2000, 500, 50, 20_000, 50
YEAR = 2026
TZ = "Asia/Shanghai"
PERIODS = {"month": (date(YEAR, 6, 1), date(YEAR, 6, 30)),
           "quarter": (date(YEAR, 4, 1), date(YEAR, 6, 30)),
           "year": (date(YEAR, 1, 1), date(YEAR, 12, 31))}


def did(tenant_tag: int, kind: str, n: int) -> str:
    """SQL for a deterministic id of an int expression `n`."""
    return f"('00000000-{tenant_tag:04d}-4000-{kind}000-' || lpad(({n})::text, 12, '0'))::uuid"


def generate(env: Env, tenant_id: uuid.UUID, lines: int, tag: int) -> None:
    orders = lines // LINES_PER_ORDER
    days = 365
    t = str(tenant_id)
    # order n: placed at n * (a year / orders) from local new year, plus a jitter under a minute
    at = f"(timestamptz '{YEAR}-01-01 00:00:00+08' + (n::float8 * {days * 86400} / {orders}) * interval '1 second')"
    day = f"((n::bigint * {days}) / {orders})"
    k = f"((n::bigint * 7919) % {POINTS})"
    status = ("(CASE WHEN n % 20 = 1 THEN 'PENDING_PAYMENT' WHEN n % 10 = 2 THEN 'CANCELLED' "
              "WHEN n % 4 = 0 THEN 'PLACED' WHEN n % 4 = 1 THEN 'CONFIRMED' ELSE 'PICKED_UP' END)")
    product = f"(({day} * {OFFERS_PER_BATCH} + (n * 7 + pos * 11) % {OFFERS_PER_BATCH}) % {PRODUCTS})"
    statements = [
        f"INSERT INTO supplier (tenant_id, id, name) SELECT '{t}', {did(tag, 'd', 'i')}, '供应商 ' || i "
        f"FROM generate_series(0, {SUPPLIERS - 1}) i",
        f"INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
        f"SELECT '{t}', {did(tag, 'c', 'i')}, {did(tag, 'd', f'i % {SUPPLIERS}')}, '产品 ' || i, '500g', 500, true "
        f"FROM generate_series(0, {PRODUCTS - 1}) i",
        f"INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
        f"SELECT '{t}', {did(tag, 'e', 'i')}, 'CUSTOMER', '团长 ' || i, '+8613{tag:02d}' || lpad(i::text, 7, '0'), 'x' "
        f"FROM generate_series(0, {POINTS - 1}) i",
        f"INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
        f"SELECT '{t}', {did(tag, '9', 'i')}, 'CUSTOMER', '顾客 ' || i, '+8615{tag:02d}' || lpad(i::text, 7, '0'), 'x' "
        f"FROM generate_series(0, {CUSTOMERS - 1}) i",
        f"INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, approved_at) "
        f"SELECT '{t}', {did(tag, 'b', 'i')}, {did(tag, 'e', 'i')}, '团长 ' || i, "
        f"'+8613{tag:02d}' || lpad(i::text, 7, '0'), 'APPROVED', 0.1, now() FROM generate_series(0, {POINTS - 1}) i",
        f"INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
        f"SELECT '{t}', {did(tag, 'a', 'i')}, {did(tag, 'b', 'i')}, '自提点 ' || i, '上海市 ' || i || ' 号', "
        f"31.2, 121.4, true FROM generate_series(0, {POINTS - 1}) i",
        f"INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at, closed_at) "
        f"SELECT '{t}', {did(tag, '1', 'd')}, '第 ' || d || ' 期', 'COMPLETED', "
        f"timestamptz '{YEAR}-01-01 00:00+08' + d * interval '1 day', "
        f"timestamptz '{YEAR}-01-02 00:00+08' + d * interval '1 day', "
        f"date '{YEAR}-01-03' + d, timestamptz '{YEAR}-01-01 00:00+08' + d * interval '1 day', "
        f"timestamptz '{YEAR}-01-02 00:00+08' + d * interval '1 day' FROM generate_series(0, {days - 1}) d",
        f"INSERT INTO offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
        f"min_group_quantity) SELECT '{t}', {did(tag, 'f', f'd * {OFFERS_PER_BATCH} + j')}, {did(tag, '1', 'd')}, "
        f"{did(tag, 'c', f'(d * {OFFERS_PER_BATCH} + j) % {PRODUCTS}')}, j, "
        f"1000 + ((d * {OFFERS_PER_BATCH} + j) % {PRODUCTS}) * 37 % 8000, NULL, 1 "
        f"FROM generate_series(0, {days - 1}) d, generate_series(0, {OFFERS_PER_BATCH - 1}) j",
        f"INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, customer_name, "
        f"leader_id, commission_rate, status, currency, total_minor, refunded_minor, pickup_code, idempotency_key, "
        f"request_hash, paid_at, cancelled_at, picked_up_at, created_at) "
        f"SELECT '{t}', {did(tag, '8', 'n')}, 'B' || n, {did(tag, '1', day)}, {did(tag, 'a', k)}, "
        f"{did(tag, '9', f'(n::bigint * 104729) % {CUSTOMERS}')}, '顾客', {did(tag, 'b', k)}, 0.1, s.status, 'CNY', "
        f"0, 0, lpad(n::text, 10, '0'), 'k' || n, 'h', "
        f"CASE WHEN s.status IN ('PENDING_PAYMENT', 'PLACED') THEN NULL ELSE {at} END, "
        f"CASE WHEN s.status = 'CANCELLED' THEN {at} + interval '2 hours' END, "
        f"CASE WHEN s.status = 'PICKED_UP' THEN {at} + interval '2 days' END, "
        f"{at} + (n % 53) * interval '1 second' "
        f"FROM generate_series(0, {orders - 1}) n, LATERAL (SELECT {status} AS status) s",
        f"INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, quantity, "
        f"unit_price_minor, status) "
        f"SELECT '{t}', {did(tag, '7', f'n * {LINES_PER_ORDER} + pos')}, {did(tag, '8', 'n')}, "
        f"{did(tag, 'f', f'{day} * {OFFERS_PER_BATCH} + (n * 7 + pos * 11) % {OFFERS_PER_BATCH}')}, "
        f"{did(tag, 'c', product)}, pos, '产品', 1 + (n + pos) % 3, 1000 + {product} * 37 % 8000, "
        f"CASE WHEN n % 10 = 2 THEN 'CANCELLED' ELSE 'ACTIVE' END "
        f"FROM generate_series(0, {orders - 1}) n, generate_series(0, {LINES_PER_ORDER - 1}) pos",
        f"UPDATE customer_order o SET total_minor = s.total FROM (SELECT order_id, "
        f"sum(quantity * unit_price_minor) AS total FROM order_line WHERE tenant_id = '{t}' GROUP BY order_id) s "
        f"WHERE o.tenant_id = '{t}' AND o.id = s.order_id",
        # whole-order refunds of a third of the cancelled orders, an hour after they were cancelled
        f"INSERT INTO refund (tenant_id, id, order_id, amount_minor, currency, reason, created_at) "
        f"SELECT tenant_id, gen_random_uuid(), id, total_minor, 'CNY', 'cancelled', cancelled_at + interval '1 hour' "
        f"FROM customer_order WHERE tenant_id = '{t}' AND status = 'CANCELLED' AND substring(number from 2)::bigint % 100 % 3 = 0",
        # half a line of 1% of the orders picked up: a shortage found at pickup
        f"INSERT INTO refund (tenant_id, id, order_id, order_line_id, amount_minor, currency, reason, created_at) "
        f"SELECT l.tenant_id, gen_random_uuid(), l.order_id, l.id, l.quantity * l.unit_price_minor / 2, 'CNY', "
        f"'short', o.picked_up_at FROM customer_order o JOIN order_line l ON l.tenant_id = o.tenant_id "
        f"AND l.order_id = o.id AND l.position = 0 WHERE o.tenant_id = '{t}' AND o.status = 'PICKED_UP' "
        f"AND o.number LIKE '%07'",
    ]
    with env.owner() as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            for sql in statements:
                conn.execute(sql)
        conn.execute("UPDATE customer_order SET refunded_minor = r.amount FROM (SELECT order_id, sum(amount_minor) "
                     "AS amount FROM refund WHERE tenant_id = %s GROUP BY order_id) r "
                     "WHERE customer_order.tenant_id = %s AND customer_order.id = r.order_id", (t, t))


def second_tenant(env: Env) -> uuid.UUID:
    return create_tenant(env)[0]


def _cpu_ms(pid: int) -> float:
    """utime + stime of a process so far (/proc, clock ticks of 10 ms)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()  # noqa: SIM115 - one read
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


async def _time(tenant_id: uuid.UUID, runs: int, periods: list[str]) -> dict[str, Any]:
    """Wall time of each report as the console gets it, and the CPU time the database backend
    and this process spent on it: on a shared, busy machine the CPU times say what it costs,
    the wall time what waiting for the cores added."""
    from sqlalchemy import text

    from service.db import dispose_engines, tenant_transaction
    from service.reports.queries import Grouping, sales_report

    out: dict[str, Any] = {}
    try:
        for period in periods:
            day_from, day_to = PERIODS[period]
            for grouping in Grouping:
                times, db_cpu, client_cpu, rows, orders = [], [], [], 0, 0
                for _ in range(runs if period == "month" else min(runs, 3)):
                    async with tenant_transaction(tenant_id) as session:
                        backend = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                        cpu0, own0, start = _cpu_ms(backend), time.process_time(), time.perf_counter()
                        report = await sales_report(session, tenant_id=tenant_id, timezone=TZ, day_from=day_from,
                                                    day_to=day_to, grouping=grouping)
                        times.append((time.perf_counter() - start) * 1000)
                        db_cpu.append(_cpu_ms(backend) - cpu0)
                        client_cpu.append((time.process_time() - own0) * 1000)
                    rows, orders = len(report.rows), report.total.orders
                out[f"{period}_{grouping.value}"] = {
                    "median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1),
                    "max_ms": round(max(times), 1), "db_cpu_median_ms": round(statistics.median(db_cpu), 1),
                    "client_cpu_median_ms": round(statistics.median(client_cpu), 1), "rows": rows, "orders": orders,
                }
                log(f"  {period:8} {grouping.value:13} median {statistics.median(times):8.1f} ms "
                    f"(min {min(times):.1f}, max {max(times):.1f}); CPU: database {statistics.median(db_cpu):.0f} ms, "
                    f"client {statistics.median(client_cpu):.0f} ms; rows {rows} orders {orders}")
    finally:
        await dispose_engines()
    return out


def reference(env: Env) -> dict[str, float]:
    """A fixed CPU-bound statement, median wall and backend CPU time: how much of a wall time
    waiting for a core was on the shared machine at that moment (wall / CPU)."""
    wall, cpu = [], []
    with env.owner() as conn:
        backend = conn.execute("SELECT pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        for _ in range(5):
            cpu0, start = _cpu_ms(backend), time.perf_counter()
            conn.execute("SELECT sum(i) FROM generate_series(1, 1000000) i").fetchone()
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append(_cpu_ms(backend) - cpu0)
    return {"wall_ms": round(statistics.median(wall), 1), "cpu_ms": round(statistics.median(cpu), 1)}


async def _explain(tenant_id: uuid.UUID) -> dict[str, Any]:
    from sqlalchemy import text

    from service.db import dispose_engines, tenant_transaction
    from service.reports.queries import WORK_MEM, Grouping, _statement

    day_from, day_to = PERIODS["month"]
    found: dict[str, Any] = {}
    try:
        for grouping in Grouping:
            async with tenant_transaction(tenant_id) as session:
                await session.execute(text("SELECT set_config('work_mem', :m, true)"), {"m": WORK_MEM})
                plan = [r[0] for r in await session.execute(
                    text("EXPLAIN (ANALYZE, BUFFERS) " + _statement().text),
                    {"tenant": tenant_id, "tz": TZ, "day_from": day_from, "day_to": day_to,
                     "grouping": grouping.value})]
            seq = [line.strip() for line in plan
                   if "Seq Scan on" in line and any(f" {t} " in line + " " for t in ("customer_order", "order_line",
                                                                                    "refund"))]
            found[grouping.value] = {"plan": plan, "sequential_scans": seq,
                                     "execution": next((p for p in plan if p.startswith("Execution Time")), "")}
            log(f"  EXPLAIN month {grouping.value:13} {found[grouping.value]['execution']}; "
                f"sequential scans of big tables: {seq or 'none'}")
    finally:
        await dispose_engines()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--periods", default="month,quarter,year", help="of " + ",".join(PERIODS))
    parser.add_argument("--no-write", action="store_true")
    parser.add_argument("--plans", action="store_true", help="print the month's plans in full")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "lines": args.lines, "runs": args.runs}
    with servers("reports") as env:
        assert env.tenant_id is not None
        with env.owner() as conn:
            conn.execute("UPDATE tenant SET timezone = %s WHERE id = %s", (TZ, env.tenant_id))
        start = time.perf_counter()
        generate(env, env.tenant_id, args.lines, 1)
        other = second_tenant(env)
        generate(env, other, args.lines // 10, 2)
        with env.owner() as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")
            counts = conn.execute("SELECT count(*) FROM order_line WHERE tenant_id = %s", (env.tenant_id,)).fetchone()
        results["setup_seconds"] = round(time.perf_counter() - start, 1)
        results["tenant_lines"] = counts[0] if counts else 0
        log(f"set up {results['tenant_lines']:,} lines (+{args.lines // 10:,} of another tenant) "
            f"in {results['setup_seconds']} s")
        results["reference_before"] = reference(env)
        results["load_average_before"] = round(load_average(), 2)
        log(f"reference statement {results['reference_before']}, load average {results['load_average_before']}")
        results["timings"] = asyncio.run(_time(env.tenant_id, args.runs, args.periods.split(",")))
        results["reference_after"] = reference(env)
        log(f"reference statement {results['reference_after']}, load average {load_average():.2f}")
        results["explain_month"] = asyncio.run(_explain(env.tenant_id))
        if args.plans:
            for grouping, found in results["explain_month"].items():
                print(f"--- {grouping}\n" + "\n".join(found["plan"]))
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = RESULTS / f"reports-{stamp}.json"
        path.write_text(json.dumps(results, indent=2, default=str) + "\n")
        log(f"wrote {path}")


if __name__ == "__main__":
    main()
