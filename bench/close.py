"""Benchmark 3: closing a big batch. Order lines generated with COPY across 2,000 pickup points,
500 products and 50 suppliers; baseline: the bare aggregate SQL (purchase-order lines and
pick-list totals) on the same rows in psql; ours: the real `close_batch_actor` in a real dramatiq
worker process (as `groupbuy worker`: 1 process, 4 threads), end to end from the message sent to
the batch seen CLOSED, with the worker's peak RSS sampled by psutil."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psutil

from bench.common import Env, log, rebind_broker, start_process, summary
from service.cli import WORKER_IDLE_POLL_MS

POINTS, PRODUCTS, SUPPLIERS, LINES_PER_ORDER, CUSTOMERS = 2000, 500, 50, 4, 20_000


def generate(env: Env, lines: int, seed: int = 1, *, points: int = POINTS,
             lines_per_order: int = LINES_PER_ORDER) -> uuid.UUID:
    """A fresh tenant-owned OPEN batch with `lines` ACTIVE lines in PAID orders, loaded with
    COPY as the owner with session_replication_role = replica (no triggers: the deferred cutoff
    check, the FK checks and the offers' stock-slot trigger are off for the load); the lines'
    quantities are then taken from their offers' slot 0."""
    rng = random.Random(seed)
    t = env.tenant_id
    now = datetime.now(UTC)
    batch = uuid.uuid4()
    tag = batch.hex[:6]
    suppliers = [uuid.uuid4() for _ in range(SUPPLIERS)]
    products = [uuid.uuid4() for _ in range(PRODUCTS)]
    offers = [uuid.uuid4() for _ in range(PRODUCTS)]
    prices = [rng.randint(150, 9000) for _ in range(PRODUCTS)]
    POINTS = points  # noqa: N806
    LINES_PER_ORDER = lines_per_order  # noqa: N806
    points = [uuid.uuid4() for _ in range(POINTS)]
    leaders = [uuid.uuid4() for _ in range(POINTS)]
    leader_users = [uuid.uuid4() for _ in range(POINTS)]
    customers = [uuid.uuid4() for _ in range(CUSTOMERS)]
    with env.owner() as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            cur = conn.cursor()
            with cur.copy("COPY supplier (tenant_id, id, name) FROM STDIN") as cp:
                for i, s in enumerate(suppliers):
                    cp.write_row((t, s, f"供应商 {i} {tag}"))
            with cur.copy("COPY product (tenant_id, id, supplier_id, name, unit, cost_minor, active) FROM STDIN") as cp:
                for i, p in enumerate(products):
                    cp.write_row((t, p, suppliers[i % SUPPLIERS], f"产品 {i}", "500g", prices[i] // 2, True))
            with cur.copy("COPY app_user (tenant_id, id, kind, display_name, phone, password_hash) FROM STDIN") as cp:
                for i, u in enumerate(leader_users):
                    cp.write_row((t, u, "CUSTOMER", f"团长 {i}", f"+861{tag}{i:05d}", "x"))
                for i, u in enumerate(customers):
                    cp.write_row((t, u, "CUSTOMER", f"顾客 {i}", f"+862{tag}{i:05d}", "x"))
            with cur.copy("COPY leader (tenant_id, id, user_id, display_name, phone, status, commission_rate, "
                          "approved_at) FROM STDIN") as cp:
                for i, (ld, u) in enumerate(zip(leaders, leader_users, strict=True)):
                    cp.write_row((t, ld, u, f"团长 {i}", f"+8613{i:09d}", "APPROVED", "0.1000", now))
            with cur.copy("COPY pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
                          "FROM STDIN") as cp:
                for i, p in enumerate(points):
                    cp.write_row((t, p, leaders[i], f"自提点 {i}", f"上海市 {i} 号", 31.2, 121.4, True))
            cur.execute(
                "INSERT INTO batch (tenant_id, id, title, status, opens_at, closes_at, pickup_date, opened_at) "
                "VALUES (%s, %s, %s, 'OPEN', %s, %s, %s, %s)",
                (t, batch, f"Big batch {tag}", now - timedelta(hours=1), now + timedelta(days=1),
                 (now + timedelta(days=2)).date(), now - timedelta(hours=1)))
            with cur.copy("COPY offer (tenant_id, id, batch_id, product_id, position, price_minor, stock_limit, "
                          "min_group_quantity) FROM STDIN") as cp:
                for i, f in enumerate(offers):
                    cp.write_row((t, f, batch, products[i], i, prices[i], None, 1))
            # The trigger that makes an offer's stock slots is off with the others.
            cur.execute("INSERT INTO offer_stock_slot (tenant_id, offer_id, slot) SELECT tenant_id, id, "
                        "generate_series(0, stock_slots - 1) FROM offer WHERE tenant_id = %s AND batch_id = %s",
                        (t, batch))
            orders = lines // LINES_PER_ORDER
            # Two COPYs cannot be open at once on one connection: orders first, then lines, from
            # the same seeded choices.
            plan = []
            for n in range(orders):
                k = n % POINTS
                chosen = rng.sample(range(PRODUCTS), LINES_PER_ORDER)
                qty = [rng.randint(1, 3) for _ in chosen]
                plan.append((uuid.uuid4(), k, chosen, qty))
            with cur.copy("COPY customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
                          "customer_name, leader_id, commission_rate, status, currency, total_minor, "
                          "refunded_minor, pickup_code, idempotency_key, request_hash) FROM STDIN") as cp:
                for n, (oid, k, chosen, qty) in enumerate(plan):
                    total = sum(prices[p] * q for p, q in zip(chosen, qty, strict=True))
                    cp.write_row((t, oid, f"X{tag}{n:08d}", batch, points[k], customers[n % CUSTOMERS], "顾客",
                                  leaders[k], "0.1000", "PAID", "CNY", total, 0, f"{n // POINTS:06d}",
                                  f"k{tag}{n}", "h"))
            with cur.copy("COPY order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, "
                          "quantity, unit_price_minor, status) FROM STDIN") as cp:
                for oid, _k, chosen, qty in plan:
                    for pos, (p, q) in enumerate(zip(chosen, qty, strict=True)):
                        cp.write_row((t, uuid.uuid4(), oid, offers[p], products[p], pos, f"产品 {p}", q,
                                      prices[p], "ACTIVE"))
            cur.execute(
                "SELECT offer_stock_take(%s, s.offer_id, 0, s.q::int) FROM (SELECT offer_id, sum(quantity) AS q "
                "FROM order_line l JOIN customer_order c ON c.tenant_id = l.tenant_id AND c.id = l.order_id "
                "WHERE c.batch_id = %s AND l.status = 'ACTIVE' GROUP BY offer_id) s", (t, batch))
    settle(env)
    return batch


def settle(env: Env) -> None:
    """VACUUM ANALYZE, then a CHECKPOINT: the set-up writes ~1 GB of WAL at 1M lines, and without
    it the measured close ran under the checkpoints that WAL triggers (the set-up's cost, not the
    close's). The close still logs a full-page image of each page it first touches after it."""
    with env.owner() as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")


RAW_SQL = """\\timing on
SELECT p.supplier_id, l.product_id, sum(l.quantity), sum(l.quantity * l.unit_price_minor)
  FROM customer_order o
  JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
  JOIN product p ON p.tenant_id = l.tenant_id AND p.id = l.product_id
 WHERE o.tenant_id = '{t}' AND o.batch_id = '{b}' AND o.status IN ('PAID', 'PLACED') AND l.status = 'ACTIVE'
 GROUP BY p.supplier_id, l.product_id;
SELECT o.pickup_point_id, l.product_id, sum(l.quantity)
  FROM customer_order o
  JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
 WHERE o.tenant_id = '{t}' AND o.batch_id = '{b}' AND o.status IN ('PAID', 'PLACED') AND l.status = 'ACTIVE'
 GROUP BY o.pickup_point_id, l.product_id;
"""


def raw_seconds(env: Env, batch: uuid.UUID) -> float:
    """The two aggregates in psql (as the owner), server-side times from \\timing, summed."""
    from service.embedded import pg_tool

    out = subprocess.run([pg_tool("psql"), "-X", "-q", "-o", "/dev/null", "-v", "ON_ERROR_STOP=1", env.owner_url],
                         input=RAW_SQL.format(t=env.tenant_id, b=batch), capture_output=True, text=True,
                         timeout=600)
    if out.returncode:
        raise RuntimeError(out.stderr)
    times = [float(x) for x in re.findall(r"Time: ([\d.]+) ms", out.stdout + out.stderr)]
    assert len(times) == 2, out.stdout + out.stderr
    return sum(times) / 1000


def reset(env: Env, batch: uuid.UUID) -> None:
    """Undo a close on the same rows, so the next run closes the very same batch."""
    t = env.tenant_id
    with env.owner() as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            for sql in (
                "DELETE FROM commission_entry WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "DELETE FROM pick_list WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "DELETE FROM purchase_order_line WHERE tenant_id = %(t)s AND purchase_order_id IN "
                "(SELECT id FROM purchase_order WHERE batch_id = %(b)s)",
                "DELETE FROM purchase_order WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "DELETE FROM outbox_event WHERE tenant_id = %(t)s",
                "DELETE FROM batch_close WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "UPDATE customer_order SET status = 'PAID' WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "UPDATE offer SET status = 'ACTIVE' WHERE tenant_id = %(t)s AND batch_id = %(b)s",
                "UPDATE batch SET status = 'OPEN', closed_at = NULL WHERE tenant_id = %(t)s AND id = %(b)s",
            ):
                conn.execute(sql, {"t": t, "b": batch})
    settle(env)


class PeakRss:
    """Samples the RSS of a process tree every 20 ms; `peak` is the largest single process."""

    def __init__(self, pid: int) -> None:
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                for p in [self.root, *self.root.children(recursive=True)]:
                    self.peak = max(self.peak, p.memory_info().rss)
            except psutil.Error:
                pass
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def start_worker(env: Env) -> subprocess.Popen:
    p = start_process(env, [sys.executable, "-m", "dramatiq", "--processes", "1", "--threads", "4",
                            "service.tasks.worker"], name="close-worker",
                  dramatiq_worker_timeout=WORKER_IDLE_POLL_MS)  # as `groupbuy worker`
    time.sleep(4)  # imports and broker connection
    return p


def close_once(env: Env, batch: uuid.UUID, worker: subprocess.Popen) -> dict[str, Any]:
    from service.tasks.close import close_batch_actor

    rebind_broker(close_batch_actor)

    with PeakRss(worker.pid) as rss:
        started = time.perf_counter()
        close_batch_actor.send(str(env.tenant_id), str(batch))
        with env.owner() as conn:
            while True:
                status = conn.execute("SELECT status FROM batch WHERE id = %s", (batch,)).fetchone()[0]
                if status == "CLOSED":
                    break
                if worker.poll() is not None:
                    raise RuntimeError("the worker died during the close")
                if time.perf_counter() - started > 1800:
                    raise TimeoutError("close did not finish")
                time.sleep(0.02)
        seconds = time.perf_counter() - started
        time.sleep(0.1)
    with env.owner() as conn:
        counted = conn.execute("SELECT order_lines, duration_ms FROM batch_close WHERE batch_id = %s",
                               (batch,)).fetchone()
    return {"seconds": round(seconds, 3), "in_transaction_ms": counted[1], "lines_closed": counted[0],
            "worker_peak_mb": round(rss.peak / 2**20, 1)}


def run(env: Env, *, sizes: list[int], runs: int) -> dict[str, Any]:
    worker = start_worker(env)
    out: dict[str, Any] = {"by_lines": {}, "peak_mb_by_lines": {}}
    for lines in sizes:
        log(f"  generating {lines:,} order lines with COPY")
        t0 = time.perf_counter()
        batch = generate(env, lines)
        log(f"  generated in {time.perf_counter() - t0:.0f} s")
        raws, ours = [], []
        for r in range(runs):
            if r:
                reset(env, batch)
            raw = [raw_seconds(env, batch) for _ in range(3)]
            raws.append(min(raw))  # warm cache, best of three, as a DBA would time it
            closed = close_once(env, batch, worker)
            assert closed["lines_closed"] == lines - lines % LINES_PER_ORDER, closed
            ours.append(closed)
            log(f"  close {lines:,} lines run {r + 1}: raw SQL {raws[-1]:.2f} s; close actor {closed['seconds']:.2f} s "
                f"(in transaction {closed['in_transaction_ms'] / 1000:.2f} s); worker peak {closed['worker_peak_mb']} MB")
        out["by_lines"][str(lines)] = {
            "raw_seconds": summary(raws), "close_seconds": summary([c["seconds"] for c in ours]),
            "ratio": summary([c["seconds"] / r for c, r in zip(ours, raws, strict=True)]),
            "worker_peak_mb": summary([c["worker_peak_mb"] for c in ours]), "runs": ours,
        }
        out["peak_mb_by_lines"][str(lines)] = max(c["worker_peak_mb"] for c in ours)
    biggest = out["by_lines"][str(max(sizes))]
    out["headline"] = {
        "lines": max(sizes), "raw_seconds": biggest["raw_seconds"]["median"],
        "close_seconds": biggest["close_seconds"]["median"], "ratio": biggest["ratio"]["median"],
        "worker_peak_mb": max(out["peak_mb_by_lines"].values()),
    }
    return out
