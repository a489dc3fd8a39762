"""The batch close (invariants 4 and 7): exactly one set of purchase orders, pick lists,
commissions and refunds, whoever closes, however often, even when a worker dies half-way."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.close_checks import check_close, snapshot
from tests.close_fixtures import BatchSpec, OrderSpec, build_batch, random_spec
from tests.conftest import run_db


def close(tenant_id, batch_id):  # type: ignore[no-untyped-def]
    from service.db import tenant_transaction
    from service.procurement.close import close_batch

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant_id, engine=engine) as session:
            return await close_batch(session, tenant_id=tenant_id, batch_id=batch_id)

    return run_db(go)


def _outcome_counts(owner_db, tenant_id, batch_id) -> tuple:  # type: ignore[no-untyped-def]
    q = lambda sql: owner_db.execute(sql, (tenant_id, batch_id)).fetchone()[0]  # noqa: E731
    return (
        q("SELECT count(*) FROM purchase_order WHERE tenant_id = %s AND batch_id = %s"),
        q("SELECT count(*) FROM pick_list WHERE tenant_id = %s AND batch_id = %s"),
        q("SELECT count(*) FROM commission WHERE tenant_id = %s AND batch_id = %s"),
        q("SELECT count(*) FROM refund r JOIN customer_order o ON o.tenant_id = r.tenant_id AND o.id = r.order_id "
          "WHERE o.tenant_id = %s AND o.batch_id = %s"),
        q("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND payload->>'batchId' = %s::text"),
    )


def test_a_worked_example(tenant, owner_db):  # type: ignore[no-untyped-def]
    """Two suppliers; one offer misses its minimum; a paid order loses a line; an unpaid order lapses."""
    spec = BatchSpec(
        suppliers=2, products=[(0, 800), (0, 300), (1, 1500)], points=2,
        offers=[(0, 1290, 2), (1, 450, 5), (2, 2990, 1)],  # offer 1 needs 5 units and gets 3
        customers=3, commission_rates=[Decimal("0.1"), Decimal("0.125")],
        orders=[
            OrderSpec(0, 0, "PAID", [(0, 2), (1, 1)]),
            OrderSpec(1, 1, "PAID", [(1, 2), (2, 1)]),
            OrderSpec(2, 1, "PENDING_PAYMENT", [(0, 3), (1, 4)]),
            OrderSpec(2, 0, "PAID", [(2, 2)]),
        ],
    )
    built = build_batch(owner_db, tenant.uuid, spec)
    before = snapshot(owner_db, tenant.uuid, built.batch_id)
    result = close(tenant.uuid, built.batch_id)
    assert result is not None and result.purchase_orders == 2 and result.pick_lists == 2
    totals = check_close(owner_db, tenant.uuid, built.batch_id, before)
    assert totals["refunds"] == 2  # orders 0 and 1 paid for offer 1
    # commission of order 0: 10 % of 2 x 12.90 = 2.58; of order 1 at 12.5 %: 29.90 -> 3.7375 -> 3.74
    amounts = dict(owner_db.execute("SELECT order_id, amount_minor FROM commission WHERE batch_id = %s",
                                    (built.batch_id,)).fetchall())
    assert amounts[built.order_ids[0]] == 258 and amounts[built.order_ids[1]] == 374
    assert close(tenant.uuid, built.batch_id) is None, "a second close finds nothing to do"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), orders=st.integers(0, 40))
def test_random_batches_close_exactly_and_add_up(tenant, owner_db, seed, orders):  # type: ignore[no-untyped-def]
    spec = random_spec(random.Random(seed), orders=orders)
    built = build_batch(owner_db, tenant.uuid, spec)
    before = snapshot(owner_db, tenant.uuid, built.batch_id)
    close(tenant.uuid, built.batch_id)
    check_close(owner_db, tenant.uuid, built.batch_id, before)
    counts = _outcome_counts(owner_db, tenant.uuid, built.batch_id)
    close(tenant.uuid, built.batch_id)
    assert _outcome_counts(owner_db, tenant.uuid, built.batch_id) == counts


def test_ten_concurrent_closes_produce_one_set(tenant, owner_db):  # type: ignore[no-untyped-def]
    from sqlalchemy.ext.asyncio import create_async_engine

    from service.db import app_url, tenant_transaction
    from service.procurement.close import close_batch

    spec = random_spec(random.Random(7), orders=60)
    built = build_batch(owner_db, tenant.uuid, spec)
    before = snapshot(owner_db, tenant.uuid, built.batch_id)

    async def race() -> list:
        engine = create_async_engine(app_url(), pool_size=10, max_overflow=0)

        async def one():  # type: ignore[no-untyped-def]
            async with tenant_transaction(tenant.uuid, engine=engine) as session:
                return await close_batch(session, tenant_id=tenant.uuid, batch_id=built.batch_id)

        try:
            return await asyncio.gather(*(one() for _ in range(10)))
        finally:
            await engine.dispose()

    results = asyncio.run(race())
    assert sum(r is not None for r in results) == 1
    check_close(owner_db, tenant.uuid, built.batch_id, before)


def test_confirming_orders_writes_no_order_row(tenant, owner_db):  # type: ignore[no-untyped-def]
    """Confirming is derived (PAID/PLACED in a CLOSED batch), commissions and per-point quantities
    too: a close where every order goes ahead updates no order and inserts only purchase orders,
    their lines, pick lists, events and its record, whatever the batch's size. (Later status
    updates, READY_FOR_PICKUP and PICKED_UP, stay HOT: no index names status, pages half full.)"""
    from service.db import tenant_transaction
    from service.procurement.close import close_batch
    from service.tables import metadata

    table = metadata.tables["customer_order"]
    for index in table.indexes:
        named = {c.name for c in index.expressions if hasattr(c, "name")}
        where = index.dialect_options["postgresql"]["where"]
        assert "status" not in named and (where is None or "status" not in str(where)), index.name
    assert table.dialect_options["postgresql"]["with"]["fillfactor"] <= 50

    spec = random_spec(random.Random(5), orders=40)
    for o in spec.orders:
        o.status = "PAID"
    spec.offers = [(p, price, 1) for p, price, _ in spec.offers]  # every offer goes ahead
    built = build_batch(owner_db, tenant.uuid, spec)

    async def go(engine):  # type: ignore[no-untyped-def]
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            result = await close_batch(session, tenant_id=tenant.uuid, batch_id=built.batch_id)
            rows = (await session.execute(text(
                "SELECT relname, n_tup_ins, n_tup_upd FROM pg_stat_xact_user_tables "
                "WHERE schemaname = 'public' AND (n_tup_ins > 0 OR n_tup_upd > 0)"
            ))).all()
            counts = (await session.execute(text(
                "SELECT (SELECT count(*) FROM purchase_order_line l JOIN purchase_order po "
                "        ON po.tenant_id = l.tenant_id AND po.id = l.purchase_order_id WHERE po.batch_id = :b), "
                "       (SELECT count(*) FROM pick_list WHERE batch_id = :b)"), {"b": built.batch_id})).one()
            return result, {r.relname: (r.n_tup_ins, r.n_tup_upd) for r in rows}, counts

    result, written, (po_lines, pick_lists) = run_db(go)
    assert result is not None and result.commissions == 40 and result.order_lines > 40
    assert set(written) <= {"batch", "offer", "purchase_order", "purchase_order_line", "pick_list",
                            "outbox_event", "batch_close"}, written
    assert written["batch"] == (0, 1)
    assert written["purchase_order"][0] == result.purchase_orders
    assert written["purchase_order_line"][0] == po_lines
    assert written["pick_list"][0] == pick_lists == result.pick_lists
    assert written["outbox_event"][0] == 1 + result.purchase_orders + result.pick_lists


def _worker(extra_env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **extra_env}
    return subprocess.Popen([sys.executable, "-m", "dramatiq", "service.tasks.worker", "--processes", "1",
                             "--threads", "2", "--queues", "close"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait(predicate, timeout: float = 60, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _kill_group(proc: subprocess.Popen) -> None:
    for child in psutil.Process(proc.pid).children(recursive=True):
        child.kill()
    proc.kill()
    proc.wait(10)


@pytest.mark.slow
def test_worker_killed_mid_close_then_a_new_worker_closes_once(tenant, owner_db, monkeypatch):  # type: ignore[no-untyped-def]
    """The scheduler requests the close; the worker is SIGKILLed half-way; the scheduler requests
    it again after the retry interval; a fresh worker completes it, exactly once."""
    from service.config import get_settings

    spec = random_spec(random.Random(11), orders=50)
    built = build_batch(owner_db, tenant.uuid, spec, closes_in=timedelta(seconds=1))
    before = snapshot(owner_db, tenant.uuid, built.batch_id)
    time.sleep(1.2)  # past the cutoff

    monkeypatch.setenv("GROUPBUY_CLOSE_RETRY_SECONDS", "2")
    get_settings.cache_clear()
    from service.procurement.scheduling import close_due_batches
    from service.tasks import registry

    registry.install()  # as the scheduler process does: close_batch goes to the worker
    worker = _worker({"GROUPBUY_CLOSE_PAUSE_SECONDS": "60"})
    try:
        assert asyncio.run(close_due_batches()) >= 1  # requested (with any other due batch), sent to the worker
        assert owner_db.execute("SELECT requested_at IS NOT NULL FROM batch_close WHERE batch_id = %s",
                                (built.batch_id,)).fetchone() == (True,)
        _wait(lambda: owner_db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction' "
            "AND usename = %s", (get_settings().app_db_role,)).fetchone()[0] > 0,
            what="the worker to pause inside the close")
        _kill_group(worker)
        batch = owner_db.execute("SELECT status FROM batch WHERE id = %s", (built.batch_id,)).fetchone()[0]
        assert batch == "OPEN", "nothing of a killed close is committed"
        assert _outcome_counts(owner_db, tenant.uuid, built.batch_id)[:4] == (0, 0, 0, 0)

        worker = _worker({})
        _wait(lambda: asyncio.run(close_due_batches()) >= 0 and owner_db.execute(
            "SELECT status FROM batch WHERE id = %s", (built.batch_id,)).fetchone()[0] == "CLOSED",
            what="the new worker to close the batch")
    finally:
        _kill_group(worker)
        get_settings.cache_clear()
    check_close(owner_db, tenant.uuid, built.batch_id, before)
