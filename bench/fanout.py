"""Benchmark 4: notification fan-out. A closed batch whose 10,000 pickup points each get a
PICK_LIST_READY event; one webhook subscription to a sink on loopback, so the relay makes 10,000
deliveries, sent by the real `deliver_batch` actor (chunks claimed in one statement, signed POSTs
sent concurrently on kept-alive connections, outcomes recorded in one statement). Timed from the
`relay_tenant_outbox` message to the last DELIVERED. Baseline: 10,000 no-op dramatiq messages on
the same broker and the same worker (2 processes x 8 threads)."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from typing import Any

from bench.close import close_once, generate
from bench.common import Env, free_port, log, rebind_broker, start_process, summary
from service.cli import WORKER_IDLE_POLL_MS


def _subscribe(env: Env, url: str) -> None:
    from service.config import get_settings
    from service.db import dispose_engines, tenant_transaction
    from service.notify.webhooks import create_subscription

    async def main() -> None:
        try:
            async with tenant_transaction(env.tenant_id) as session:
                await create_subscription(session, tenant_id=env.tenant_id, url=url,
                                          events=["PICK_LIST_READY"], created_by=None)
        finally:
            await dispose_engines()

    os.environ["GROUPBUY_ENV"] = "test"  # loopback receivers: GROUPBUY_WEBHOOK_ALLOWED_NETWORKS (common.py)
    get_settings.cache_clear()
    try:
        asyncio.run(main())
    finally:
        os.environ["GROUPBUY_ENV"] = "production"
        get_settings.cache_clear()


def _reset(env: Env) -> None:
    with env.owner() as conn:
        conn.execute("DELETE FROM delivery WHERE tenant_id = %s", (env.tenant_id,))
        conn.execute("DELETE FROM notification WHERE tenant_id = %s", (env.tenant_id,))
        conn.execute("UPDATE outbox_event SET relayed_at = NULL, attempts = 0 WHERE tenant_id = %s",
                     (env.tenant_id,))
        conn.execute("VACUUM ANALYZE delivery")


def _ours(env: Env, expected: int) -> float:
    from service.tasks.notify import relay_tenant_outbox

    rebind_broker(relay_tenant_outbox)
    started = time.perf_counter()
    relay_tenant_outbox.send(str(env.tenant_id))
    with env.owner() as conn:
        while True:
            done, failed = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'DELIVERED'), count(*) FILTER (WHERE status = 'FAILED') "
                "FROM delivery WHERE tenant_id = %s", (env.tenant_id,)).fetchone()
            if done + failed >= expected:
                break
            if time.perf_counter() - started > 900:
                raise TimeoutError(f"only {done} of {expected} deliveries after 900 s")
            time.sleep(0.05)
    if failed:
        raise AssertionError(f"{failed} deliveries failed")
    return time.perf_counter() - started


def _noop(n: int) -> float:
    from bench.fanout_worker import noop

    rebind_broker(noop)
    broker = noop.broker
    started = time.perf_counter()
    for i in range(n):
        noop.send(i)
    broker.join("bench-noop", timeout=900_000)
    return time.perf_counter() - started


def run(env: Env, *, leaders: int, runs: int) -> dict[str, Any]:
    sink_port = free_port()
    start_process(env, [sys.executable, "-m", "uvicorn", "bench.sink_app:app", "--port", str(sink_port),
                        "--no-access-log", "--log-level", "warning"], name="sink")
    time.sleep(1.5)
    _subscribe(env, f"http://127.0.0.1:{sink_port}/hooks")
    worker = start_process(env, [sys.executable, "-m", "dramatiq", "--processes", "2", "--threads", "8",
                                 "bench.fanout_worker"], name="fanout-worker",
                          dramatiq_worker_timeout=WORKER_IDLE_POLL_MS)  # as `groupbuy worker`
    time.sleep(5)
    log(f"  a batch with {leaders:,} pickup points, one order each, closed by the close actor")
    batch = generate(env, leaders, points=leaders, lines_per_order=1)
    closed = close_once(env, batch, worker)
    with env.owner() as conn:
        events = conn.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'PICK_LIST_READY'",
                              (env.tenant_id,)).fetchone()[0]
    assert events == leaders, events
    ours, base = [], []
    for r in range(runs):
        if r:
            _reset(env)
        b = _noop(leaders)
        o = _ours(env, leaders)
        ours.append(leaders / o)
        base.append(leaders / b)
        log(f"  fan-out run {r + 1}: {leaders / o:.0f} webhooks/s ({o:.1f} s); no-op messages {leaders / b:.0f}/s")
    return {"leaders": leaders, "close": closed, "deliveries_per_second": summary(ours),
            "noop_per_second": summary(base), "ratio": summary([o / b for o, b in zip(ours, base, strict=True)])}
