"""Allocating a shortage across a batch of N order lines (default 1,000,000): ours, the real
`shortage_allocate()` as the app role under RLS (allocation, refunds with their REFUND_CREATED
events, commission write-down and reversal, cancelled orders), against the bare SQL statement of
the same allocation (LAST_ORDERED_FIRST, one UPDATE of order_line with the same window) as the
owner, on the same rows in the same run. Both are rolled back, so every run sees the same data;
server-side times, best of each run, repeated.

    python -m bench.shortage [--lines 1000000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from typing import Any

import psycopg

from bench.close import generate
from bench.common import Env, log, servers, summary, write_results

# Every product short by a tenth of what was ordered of it, across all points.
DEMANDS = """
SELECT array_agg(l.product_id ORDER BY l.product_id), array_agg(NULL::uuid ORDER BY l.product_id),
       array_agg((sum_q / 10)::int ORDER BY l.product_id)
FROM (SELECT product_id, sum(quantity) AS sum_q FROM order_line WHERE tenant_id = %(t)s GROUP BY product_id) l
"""

BARE = """
WITH d AS (
  SELECT u.product_id, u.shortfall FROM unnest(%(products)s::uuid[], %(shortfalls)s::int[]) AS u(product_id, shortfall)
), c AS (
  SELECT l.id, l.quantity - l.refunded_quantity AS held, d.shortfall,
         sum(l.quantity - l.refunded_quantity) OVER (PARTITION BY l.product_id ORDER BY o.created_at DESC, o.id DESC
                                                     ROWS UNBOUNDED PRECEDING) AS running
  FROM d JOIN order_line l ON l.tenant_id = %(t)s AND l.product_id = d.product_id AND l.status = 'ACTIVE'
  JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id AND o.batch_id = %(b)s
)
UPDATE order_line l SET refunded_quantity = l.refunded_quantity + s.q, shorted_quantity = l.shorted_quantity + s.q
FROM (SELECT id, least(held, greatest(0, shortfall - (running - held)))::int AS q FROM c) s
WHERE l.tenant_id = %(t)s AND l.id = s.id AND s.q > 0
"""


def prepare(env: Env, batch: uuid.UUID) -> tuple[list[Any], list[Any], list[int]]:
    """The batch as the close leaves it (CLOSED, its close recorded): what shortage_allocate reads."""
    with env.owner() as conn:
        conn.execute("UPDATE batch SET status = 'CLOSED', closed_at = now() WHERE id = %s", (batch,))
        conn.execute("INSERT INTO batch_close (tenant_id, batch_id, requested_at, finished_at) "
                     "VALUES (%s, %s, now(), now()) ON CONFLICT DO NOTHING", (env.tenant_id, batch))
        conn.execute("ANALYZE order_line")
        conn.execute("ANALYZE customer_order")
        products, points, shortfalls = conn.execute(DEMANDS, {"t": env.tenant_id}).fetchone()
    return products, points, shortfalls


def timed(conn: psycopg.Connection, sql: str, params: Any) -> tuple[float, Any]:
    with conn.transaction(force_rollback=True):
        t0 = time.perf_counter()
        cur = conn.execute(sql, params)
        rows = cur.fetchall() if cur.description else []
        return time.perf_counter() - t0, rows


def run(env: Env, *, lines: int, runs: int) -> dict[str, Any]:
    log(f"  generating {lines:,} order lines with COPY")
    batch = generate(env, lines)
    products, points, shortfalls = prepare(env, batch)
    ours_s, bare_s, allocated = [], [], []
    with psycopg.connect(env.app_url, autocommit=True) as app, \
            psycopg.connect(env.owner_url, autocommit=True) as owner:
        for r in range(runs):
            if r:  # the rolled-back runs leave dead row versions behind: each run starts from the same table state
                owner.execute("VACUUM (ANALYZE) order_line, customer_order, commission_entry, refund, outbox_event")
            app.execute("SELECT set_config('app.tenant_id', %s, false)", (str(env.tenant_id),))
            ours, rows = timed(app, "SELECT kind, quantity FROM shortage_allocate(%s, %s, 'LAST_ORDERED_FIRST', "
                               "%s::uuid[], %s::uuid[], %s::int[], 'SHORTAGE', NULL, 'platform', NULL, true)",
                               (env.tenant_id, batch, products, points, shortfalls))
            units = sum(q for kind, q in rows if kind == "point")
            bare, _ = timed(owner, BARE, {"t": env.tenant_id, "b": batch,
                                                                  "products": products, "shortfalls": shortfalls})
            ours_s.append(ours)
            bare_s.append(bare)
            allocated.append(units)
            log(f"  run {r + 1}: shortage_allocate {ours:.2f} s ({units:,} units, "
                f"{sum(1 for k, _ in rows if k == 'refund'):,} refunds); bare UPDATE {bare:.2f} s; "
                f"ratio {ours / bare:.2f}")
    return {"lines": lines, "units_shorted": allocated[0], "ours_seconds": summary(ours_s),
            "bare_seconds": summary(bare_s), "ratio": summary([o / b for o, b in zip(ours_s, bare_s, strict=True)])}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with servers("shortage") as env:
        result = run(env, lines=args.lines, runs=args.runs)
    log(json.dumps(result, indent=2))
    write_results({"shortage": result}, {"shortage_vs_bare": round(result["ratio"]["median"], 3),
                                         "shortage_seconds": result["ours_seconds"]["median"],
                                         "shortage_lines": result["lines"]})


if __name__ == "__main__":
    main()
