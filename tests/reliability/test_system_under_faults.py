"""The whole system as separate processes — three API processes, two dramatiq workers, the
scheduler — on private real PostgreSQL and Redis, under a bounded load of customers ordering
across three tenants and six batches, while faults are injected:

- PostgreSQL backends of the app role terminated (`pg_terminate_backend`) mid-request, twice;
- an API process SIGKILLed (and started again on its port), twice;
- the worker that runs closes SIGKILLed half-way through a close (GROUPBUY_CLOSE_PAUSE_SECONDS);
  a fresh worker replaces it and the scheduler requests the close again;
- Redis stopped and started again on the same port (every queued message lost).

Afterwards every invariant is checked from the database (see invariants.py and close_checks.py).
"""

from __future__ import annotations

import random
import threading
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from service import global_id
from tests.close_checks import check_close, snapshot
from tests.reliability import invariants
from tests.reliability.cluster import Cluster, make_cluster_root, remove_root
from tests.reliability.conftest import SOAK, record
from tests.reliability.system import (
    BATCH_CLOSE,
    Client,
    create_batch,
    make_items,
    percentile,
    run_load,
    setup_tenant,
    wait_batches_open,
)

TENANTS = 3
ORDERS = 3000 if SOAK else 600
# Stock and customers grow with the load, so a bigger load still places orders rather than
# only meeting sold-out offers and spent per-customer limits.
SCALE = ORDERS // 600
CUSTOMERS = 15 * SCALE
RATE = 25.0 if SOAK else 20.0  # orders started per second: the faults below land mid-load
THREADS = 10 if SOAK else 8
# Seconds after the load starts when the scheduler closes the early batches (and a worker is
# killed in that close): 16 s by default; in the soak three quarters of the way through its longer
# load, so most early orders come before the cutoff and the close still lands mid-load.
EARLY_CLOSE_AFTER = ORDERS / RATE * 0.75 if SOAK else 16.0


def _wait(what: str, check, timeout: float, cluster: Cluster) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{cluster.logs()}")
        time.sleep(0.2)


class Faults(threading.Thread):
    """Injects the faults on a schedule relative to the load's start; records what it saw."""

    def __init__(self, cluster: Cluster, start: float, early_batches: list, soak: bool) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.start_at = start
        self.early = early_batches
        self.log: list[dict] = []
        self.error: str | None = None
        rounds = 3 if soak else 1
        plan: list[tuple[float, str]] = [
            (4, "pg_terminate"),
            (8, "api_kill"),
            (EARLY_CLOSE_AFTER, "worker_kill_mid_close"),
            (24, "redis_restart"),
            (27, "pg_terminate"),
            (30, "api_kill"),
        ]
        self.plan = [
            (t + 40 * r, name)
            for r in range(rounds)
            for t, name in plan
            if r == 0 or name != "worker_kill_mid_close"
        ]

    def at(self, t: float) -> None:
        delay = self.start_at + t - time.monotonic()
        if delay > 0:
            time.sleep(delay)

    def note(self, name: str, began: float, **details) -> None:  # type: ignore[no-untyped-def]
        self.log.append({"fault": name, "at_s": round(began - self.start_at, 2), **details})

    def run(self) -> None:
        api_round = 0
        try:
            for t, name in sorted(self.plan):
                self.at(t)
                began = time.monotonic()
                if name == "pg_terminate":
                    self.note(name, began, backends_terminated=self.cluster.terminate_app_backends())
                elif name == "api_kill":
                    i = api_round % len(self.cluster.apis)
                    api_round += 1
                    t0 = time.monotonic()
                    self.cluster.apis[i].kill()
                    time.sleep(2)
                    self.cluster.restart_api(i)
                    self.note(name, began, api=i, down_s=round(time.monotonic() - t0, 2))
                elif name == "redis_restart":
                    t0 = time.monotonic()
                    self.cluster.restart_redis(1.5)
                    self.note(name, began, down_s=round(time.monotonic() - t0, 2))
                elif name == "worker_kill_mid_close":
                    self.kill_worker_mid_close(began)
        except Exception:  # noqa: BLE001 - reported by the test
            self.error = traceback.format_exc()

    def kill_worker_mid_close(self, began: float) -> None:
        closer = self.cluster.workers[0]
        deadline = time.monotonic() + 30
        while "close paused for" not in closer.log_text():
            if time.monotonic() > deadline:
                raise AssertionError("the close never reached its pause\n" + self.cluster.logs())
            time.sleep(0.1)
        closer.kill()
        with self.cluster.owner() as conn:
            states = dict(
                conn.execute(
                    "SELECT status, count(*) FROM batch WHERE id = ANY(%s) GROUP BY status", (self.early,)
                ).fetchall()
            )
            made = conn.execute(
                "SELECT count(*) FROM purchase_order WHERE batch_id = ANY(%s)", (self.early,)
            ).fetchone()[0]
        # The replacement runs closes without the pause: a supervisor restarting the worker.
        replacement = self.cluster.worker_proc("worker-close-2")
        self.cluster.workers.append(replacement)
        replacement.start()
        self.note(
            "worker_kill_mid_close",
            time.monotonic(),
            waited_for_pause_s=round(time.monotonic() - began, 2),
            early_batches_after_kill=states,
            purchase_orders_of_open_batches=made,
        )


@pytest.mark.slow
@pytest.mark.timeout(900 if SOAK else 280)
def test_system_under_load_and_faults_keeps_every_invariant() -> None:
    root = make_cluster_root()
    cluster = Cluster(root)
    worlds = []
    t_setup = time.monotonic()
    try:
        cluster.start_servers()
        cluster.start_processes(
            [
                # Runs every queue, and pauses half-way through each close: it is killed in the first.
                ("worker-close", None, {"GROUPBUY_CLOSE_PAUSE_SECONDS": "30"}),
                ("worker-2", ["default", "notify"], None),
            ]
        )
        client = Client(cluster.api_urls)
        with cluster.owner() as owner:
            for n in range(TENANTS):
                worlds.append(setup_tenant(client, cluster, owner, n, CUSTOMERS))
            load_start_wall = datetime.now(UTC) + timedelta(seconds=3)
            for w in worlds:
                create_batch(client, w, "early", load_start_wall + timedelta(seconds=EARLY_CLOSE_AFTER), scale=SCALE)
                create_batch(client, w, "late", load_start_wall + timedelta(hours=2), scale=SCALE)
            wait_batches_open(owner, worlds)
        setup_s = time.monotonic() - t_setup
        items = make_items(random.Random(20261101), worlds, ORDERS)
        early = [w.batches["early"]["uuid"] for w in worlds]
        delay = (load_start_wall - datetime.now(UTC)).total_seconds()
        if delay > 0:
            time.sleep(delay)
        start = time.monotonic()
        faults = Faults(cluster, start, early, SOAK)
        faults.start()
        report = run_load(cluster.api_urls, worlds, items, threads=THREADS, rate=RATE)
        faults.join(120)
        assert faults.error is None, faults.error

        # The early batches: closed by the scheduler (after the killed worker, by its replacement).
        with cluster.owner() as owner:
            _wait(
                "the scheduler to close the early batches",
                lambda: (
                    owner.execute(
                        "SELECT count(*) FROM batch WHERE id = ANY(%s) AND status = 'CLOSED'", (early,)
                    ).fetchone()[0]
                    == len(early)
                ),
                90,
                cluster,
            )
            # The late batches: closed through batchClose, with a snapshot just before (close_checks).
            late_checks = {}
            for w in worlds:
                b = w.batches["late"]
                before = snapshot(owner, w.uuid, b["uuid"])
                data = client.data(BATCH_CLOSE, {"id": b["id"]}, token=w.admin_token)["batchClose"]
                assert data["errors"] == [] and data["batch"]["status"] == "CLOSED", data
                late_checks[w.slug] = check_close(owner, w.uuid, b["uuid"], before)

            # Outbox drained: every webhook delivery DELIVERED.
            tenant_ids = [w.uuid for w in worlds]
            _wait(
                "the outbox to drain",
                lambda: (
                    owner.execute(
                        "SELECT (SELECT count(*) FROM outbox_event WHERE tenant_id = ANY(%s) AND relayed_at IS NULL) + "  # noqa: E501
                        "(SELECT count(*) FROM delivery WHERE tenant_id = ANY(%s) AND channel = 'WEBHOOK' "
                        "  AND status <> 'DELIVERED')",
                        (tenant_ids, tenant_ids),
                    ).fetchone()[0]
                    == 0
                ),
                120,
                cluster,
            )
            time.sleep(1)  # a last duplicate in flight, if any, lands before counting

            figures = check_everything(owner, client, worlds, report)
        figures["late_batches_close_checks"] = late_checks
        figures["faults"] = faults.log
        figures["setup_s"] = round(setup_s, 1)
        figures["load"] = {
            "tenants": TENANTS,
            "customers_per_tenant": CUSTOMERS,
            "batches": 2 * TENANTS,
            "orders_requested": ORDERS,
            "threads": THREADS,
            "target_rate_per_s": RATE,
            "api_processes": len(cluster.apis),
            "duration_s": round(report.finished - report.started, 1),
            "order_outcomes": dict(report.outcomes),
            "follow_ups": dict(report.follow_ups),
            "http_attempts": dict(report.attempts),
            "error_samples": {k: v for k, v in report.samples.items() if not k.startswith("transport")},
            "orderPlace_latency_ms": {
                p: round(1000 * percentile([r.latency for r in report.results], p), 1)
                for p in (50, 95, 99, 100)
            },
        }
        record("system-under-faults", figures)
        # Every fault happened, and the load went through them.
        assert [f["fault"] for f in faults.log].count("worker_kill_mid_close") == 1
        kill = next(f for f in faults.log if f["fault"] == "worker_kill_mid_close")
        assert kill["purchase_orders_of_open_batches"] == 0, "a killed close left something behind"
        assert report.outcomes["gave_up"] == 0, report.outcomes
        assert report.outcomes["ok"] > ORDERS // 3, report.outcomes
    finally:
        for w in worlds:
            w.sink.__exit__(None, None, None)
        cluster.stop()
        remove_root(root)


def check_everything(owner, client: Client, worlds, report) -> dict:  # type: ignore[no-untyped-def]
    tenant_ids = [w.uuid for w in worlds]
    figures: dict = {}
    # 1. No oversell, per-customer limits.
    figures["stock"] = invariants.check_stock(owner, tenant_ids)
    # 3. No lost or duplicated order; replays returned the first order.
    successes = [
        (
            worlds[r.item.tenant].slug,
            worlds[r.item.tenant].customers[r.item.customer][0],
            r.item.key,
            r.order_id,
        )
        for r in report.results
        if r.outcome == "ok"
    ]
    sent = {
        (r.item.key, str(global_id.decode(worlds[r.item.tenant].customers[r.item.customer][0])[1]))
        for r in report.results
    }
    figures["orders"] = invariants.check_orders(owner, {w.slug: w.uuid for w in worlds}, successes, sent)
    replays = [r for r in report.results if r.item.action == "replay" and r.outcome == "ok"]
    assert all(r.replay_same for r in replays if r.follow_up == "same" or r.replay_same is not None), [
        r.follow_up for r in replays if not r.replay_same
    ]
    figures["orders"]["replays_same_order"] = sum(1 for r in replays if r.replay_same)
    # 4 and 7. Every batch closed exactly once, money adds up.
    figures["batches"] = {}
    for w in worlds:
        for name, b in w.batches.items():
            figures["batches"][f"{w.slug}/{name}"] = invariants.check_closed_batch(owner, w.uuid, b["uuid"])
    # 5. Every event delivered under its webhook-id.
    figures["webhooks"] = {}
    for w in worlds:
        figures["webhooks"][w.slug] = invariants.check_deliveries(
            owner, w.uuid, global_id.decode(w.subscription_id)[1], w.sink
        )
    # 6. Nothing of one tenant visible to another, by ID.
    figures["isolation"] = check_isolation(owner, client, worlds)
    return figures


NODE = "query($id: ID!) { node(id: $id) { id } }"
ORDER = "query($id: ID!) { order(id: $id) { id number } }"
BATCH = "query($id: ID!) { batch(id: $id) { id title } }"
ORDERS_OF = "query($b: ID) { orders(batchId: $b, first: 100) { edges { node { id } } } }"


def check_isolation(owner, client: Client, worlds) -> dict:  # type: ignore[no-untyped-def]
    checked = Counter()
    for a in worlds:
        for b in worlds:
            if a is b:
                continue
            order_ids = [
                global_id.encode("Order", r[0])
                for r in owner.execute(
                    "SELECT id FROM customer_order WHERE tenant_id = %s ORDER BY id LIMIT 5", (b.uuid,)
                )
            ]
            batch_ids = [bb["id"] for bb in b.batches.values()]
            for oid in order_ids:
                assert client.data(NODE, {"id": oid}, token=a.admin_token)["node"] is None
                assert client.data(ORDER, {"id": oid}, token=a.admin_token)["order"] is None
                checked["orders"] += 1
            for bid in batch_ids:
                assert client.data(NODE, {"id": bid}, token=a.admin_token)["node"] is None
                assert client.data(BATCH, {"id": bid}, token=a.admin_token)["batch"] is None
                # A filter naming another tenant's batch names nothing here: an INVALID argument.
                outcome, body = client.call(ORDERS_OF, {"b": bid}, token=a.admin_token)
                assert outcome == "top:INVALID" and body["errors"][0]["extensions"]["fields"] == [["batchId"]], body
                checked["batches"] += 1
    return dict(checked)
