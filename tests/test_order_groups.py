"""Orders placed together (place_order_group(), service/orders/grouping.py): each order ends exactly as
it would have alone — placed, replayed or refused with the same errors — the group commits as
one, the cutoff is checked after its last order, and a group never deadlocks: it gives up an
order (placed alone after it) rather than wait out of lock order.

Everything runs against the real database as the app role, under RLS; the stress test runs
several processes, each with its own event loop, placer and connections.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import psycopg
import pytest

from service import global_id
from service.accounts.models import PaymentMode
from service.config import get_settings
from service.errors import AuthError, UserErrors
from service.orders import grouping, placement
from service.orders.placement import LineSpec, OrderRequest, Placed
from service.tenants.principal import TenantInfo
from tests.ordering_fixtures import (
    add_pickup_point,
    bulk_customers,
    make_world,
    offer_input,
    open_batch_with_offers,
)
from tests.reliability.invariants import check_stock, check_stock_slots

T = TypeVar("T")


def _info(tenant_uuid: uuid.UUID) -> TenantInfo:
    from decimal import Decimal

    return TenantInfo(id=tenant_uuid, slug="t", name="t", timezone="UTC", currency="CNY",
                      payment_mode=PaymentMode.PAY_AT_PICKUP, default_commission_rate=Decimal("0.1"),
                      payment_window_minutes=30)


def _uuid(gid: str) -> uuid.UUID:
    return global_id.decode(gid)[1]  # type: ignore[index]


def _with_placer(most: int, lanes: int, lock_wait_ms: int, fn: Callable[[], Awaitable[T]]) -> T:
    """`fn()` in an event loop of its own whose placer groups as told; its connections closed after."""
    from service import db

    async def main() -> T:
        loop = asyncio.get_running_loop()
        grouping._placers[loop] = grouping._Placer(most, lanes, lock_wait_ms)
        try:
            return await fn()
        finally:
            pool = db._driver_pools.pop(loop, None)
            if pool is not None:
                await pool.close()

    return asyncio.run(main())


async def _outcome(call: Awaitable[Placed]) -> tuple[str, Any]:
    try:
        placed = await call
    except UserErrors as e:
        return "refused", [(err.code.value, err.field, err.message) for err in e.errors]
    except AuthError as e:
        return "auth", e.code
    return ("replayed" if placed.replayed else "placed"), placed.order_id


async def _alone_now(app_db_url: str, tenant_uuid: uuid.UUID, batch_id: uuid.UUID, request: OrderRequest) -> tuple[str, Any]:
    async with await psycopg.AsyncConnection.connect(app_db_url, autocommit=True) as conn:
        return await _outcome(placement.place_order_alone(
            conn, tenant=_info(tenant_uuid), customer_id=request.customer_id, batch_id=batch_id,
            pickup_point_id=request.pickup_point_id, lines=request.lines, idempotency_key=request.idempotency_key))


@pytest.fixture
def shop(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    """A tenant with an OPEN batch of three offers: 0 unlimited, 1 with 5 in stock, 2 with a
    per-customer limit of 2."""
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [
        offer_input(world, 0), offer_input(world, 1, stockLimit=5), offer_input(world, 2, perCustomerLimit=2)])
    offers = [_uuid(o["id"]) for o in batch["offers"]]
    return tenant, world, _uuid(batch["id"]), offers


def _sold(owner_db: psycopg.Connection, offer: uuid.UUID) -> int:
    return owner_db.execute("SELECT coalesce(sum(sold), 0) FROM offer_stock_slot WHERE offer_id = %s",
                            (offer,)).fetchone()[0]


def test_each_order_of_a_group_ends_as_it_would_alone(shop, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    tenant, world, batch_id, (free, scarce, limited) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 5)]
    owner_db.execute("UPDATE app_user SET disabled_at = now() WHERE id = %s", (people[4],))
    closed_point = add_pickup_point(owner_db, tenant, world.leader_id, active=False)
    key = uuid.uuid4().hex
    requests = [
        OrderRequest(people[0], world.point_id, [LineSpec(free, 2)], key),
        OrderRequest(people[0], world.point_id, [LineSpec(free, 2)], key),  # the same request again
        OrderRequest(people[0], world.point_id, [LineSpec(free, 3)], key),  # the key with another body
        OrderRequest(people[1], closed_point, [LineSpec(free, 1)], uuid.uuid4().hex),
        OrderRequest(people[4], world.point_id, [LineSpec(free, 1)], uuid.uuid4().hex),
        OrderRequest(people[1], world.point_id, [LineSpec(free, 1), LineSpec(scarce, 4)], uuid.uuid4().hex),
        OrderRequest(people[2], world.point_id, [LineSpec(scarce, 2)], uuid.uuid4().hex),  # 1 left
        OrderRequest(people[3], world.point_id, [LineSpec(limited, 3)], uuid.uuid4().hex),
    ]
    async def main() -> list[Placed | Exception | None]:
        async with await psycopg.AsyncConnection.connect(app_db_url, autocommit=True) as conn:
            return await placement.place_orders_together(conn, tenant=_info(tenant.uuid), batch_id=batch_id,
                                                         requests=requests, lock_wait_ms=100)

    outcomes = asyncio.run(main())
    first, again, misused, closed, disabled, two_lines, short, over_limit = outcomes
    assert isinstance(first, Placed) and not first.replayed and first.order.total_minor == 2 * 990
    assert isinstance(again, Placed) and again.replayed and again.order_id == first.order_id
    assert isinstance(two_lines, Placed) and not two_lines.replayed

    def errors(outcome: object) -> list[tuple[str, list[str]]]:
        assert isinstance(outcome, UserErrors), outcome
        return [(e.code.value, e.field) for e in outcome.errors]

    assert errors(misused) == [("INVALID", ["idempotencyKey"])]
    assert errors(closed) == [("INVALID", ["pickupPointId"])]
    assert isinstance(disabled, AuthError)
    # Its slot was full, and an earlier order of the group holds a slot of that offer: rather than
    # lock all of the offer's slots out of order, the group gave it up, to be placed alone.
    assert short is None
    assert asyncio.run(_alone_now(app_db_url, tenant.uuid, batch_id, requests[6])) == (
        "refused", [("OUT_OF_STOCK", ["lines", "0", "quantity"], "Only 1 left.")])
    assert errors(over_limit) == [("LIMIT_EXCEEDED", ["lines", "0", "quantity"])]

    # Written: the two orders placed, nothing of the refused ones.
    rows = owner_db.execute("SELECT id, customer_id, commit_checked_at IS NOT NULL FROM customer_order "
                            "WHERE tenant_id = %s", (tenant.uuid,)).fetchall()
    assert {r[0] for r in rows} == {first.order_id, two_lines.order_id} and all(r[2] for r in rows)
    assert (_sold(owner_db, free), _sold(owner_db, scarce), _sold(owner_db, limited)) == (3, 4, 0)
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'ORDER_PLACED'",
                            (tenant.uuid,)).fetchone() == (2,)
    check_stock(owner_db, [tenant.uuid])
    check_stock_slots(owner_db, [tenant.uuid])


def test_the_same_refusals_alone_and_together(shop, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    """Each refusal's errors (codes, fields and messages) are those the order gets alone."""
    tenant, world, batch_id, (free, scarce, limited) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 4)]
    requests = [
        OrderRequest(people[0], world.point_id, [LineSpec(scarce, 6)], uuid.uuid4().hex),
        OrderRequest(people[1], world.point_id, [LineSpec(limited, 3)], uuid.uuid4().hex),
        OrderRequest(people[2], uuid.uuid4(), [LineSpec(free, 1)], uuid.uuid4().hex),
        OrderRequest(people[3], world.point_id, [LineSpec(uuid.uuid4(), 1)], uuid.uuid4().hex),
    ]
    info = _info(tenant.uuid)

    async def alone() -> list[tuple[str, Any]]:
        return [await _outcome(grouping._alone(info, batch_id, r)) for r in requests]

    async def together() -> list[tuple[str, Any]]:
        return list(await asyncio.gather(*(_outcome(grouping.place(info, batch_id, r)) for r in requests)))

    expected = _with_placer(1, 1, 100, alone)
    assert [kind for kind, _ in expected] == ["refused"] * 4
    got = _with_placer(8, 1, 100, together)
    assert got == expected
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s", (tenant.uuid,)).fetchone() == (0,)


def test_orders_that_meet_go_together_and_sell_exactly_the_stock(shop, owner_db):  # type: ignore[no-untyped-def]
    """60 concurrent requests for 5 units, one lane: groups form, 5 orders of one unit are placed
    and every other one is refused OUT_OF_STOCK; the books match."""
    tenant, world, batch_id, (_, scarce, _) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 60)]
    info = _info(tenant.uuid)

    async def main() -> tuple[list[tuple[str, Any]], dict[int, int]]:
        found = await asyncio.gather(*(_outcome(grouping.place(info, batch_id, OrderRequest(
            c, world.point_id, [LineSpec(scarce, 1)], uuid.uuid4().hex))) for c in people))
        return list(found), grouping.stats()["sizes"]

    outcomes, sizes = _with_placer(8, 1, 100, main)
    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {"placed": 5, "refused": 55}, kinds
    assert Counter((e[0][0], tuple(e[0][1])) for kind, e in outcomes if kind == "refused") == {
        ("OUT_OF_STOCK", ("lines", "0", "quantity")): 55}
    # The first went at once, alone; the other 59 queued behind it and went 8 at a time.
    assert sizes == {1: 1, 8: 7, 3: 1}, sizes
    assert _sold(owner_db, scarce) == 5
    check_stock(owner_db, [tenant.uuid])
    check_stock_slots(owner_db, [tenant.uuid])


def _activity() -> tuple[str, str]:
    """Where a statement waiting for a lock shows, and its process: on Citus it waits on the worker
    that holds the tenant's shards (the cluster-wide view, by global pid)."""
    return ("citus_stat_activity", "global_pid") if get_settings().citus else ("pg_stat_activity", "pid")


def _two_orders_second_blocked(shop, owner_db, lock_wait_ms: int, while_waiting: Callable[[], None],  # type: ignore[no-untyped-def]
                               closes_in: float | None = None):
    """Two customers' orders on two offers sent as one group (a third customer's order, sent
    first, goes alone at once and they queue behind it); the later one in lock order waits on
    that offer's slots, which another transaction holds until `while_waiting()` returns.
    `closes_in`: the batch's cutoff is moved to that many seconds from now first (the group
    holds the batch row FOR SHARE: it cannot be moved while the group waits).
    Returns the customers, the two outcomes (in lock order) and the group sizes."""
    tenant, world, batch_id, (free, scarce, limited) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 3)]
    low, high = sorted([free, scarce])
    opener = OrderRequest(people[2], world.point_id, [LineSpec(limited, 1)], uuid.uuid4().hex)
    requests = [OrderRequest(people[0], world.point_id, [LineSpec(low, 1)], uuid.uuid4().hex),
                OrderRequest(people[1], world.point_id, [LineSpec(high, 1)], uuid.uuid4().hex)]
    info = _info(tenant.uuid)
    found: dict[str, Any] = {}

    async def both() -> None:
        first, *found["outcomes"] = await asyncio.gather(
            *(_outcome(grouping.place(info, batch_id, r)) for r in [opener, *requests]))
        assert first[0] == "placed", first
        found["sizes"] = grouping.stats()["sizes"]

    if closes_in is not None:
        owner_db.execute("UPDATE batch SET closes_at = statement_timestamp() + %s * interval '1 second' "
                         "WHERE tenant_id = %s AND id = %s", (closes_in, tenant.uuid, batch_id))
    with psycopg.connect(owner_db.info.dsn, password=owner_db.info.password, autocommit=True) as holder:
        with holder.transaction():
            holder.execute("SELECT 1 FROM offer_stock_slot WHERE tenant_id = %s AND offer_id = %s FOR UPDATE",
                           (tenant.uuid, high))
            sender = threading.Thread(target=lambda: _with_placer(8, 1, lock_wait_ms, both))
            sender.start()
            deadline = time.monotonic() + 30
            while not owner_db.execute(
                    f"SELECT count(*) FROM {_activity()[0]} WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%%place_order_group(%%'").fetchone()[0]:
                assert time.monotonic() < deadline, "the group never waited for the held slots"
                time.sleep(0.02)
            while_waiting()
        sender.join(60)
    assert not sender.is_alive()
    return people[:2], found["outcomes"], found["sizes"]


def test_a_group_past_the_cutoff_at_its_end_is_rolled_back_and_each_order_refused(  # type: ignore[no-untyped-def]
    shop, owner_db
):
    """The first order passes every check; the second waits for stock while the cutoff passes.
    Committed, the group would hold an order whose commit came after the cutoff: its final check
    rolls the whole group back, and each order placed alone is refused."""
    tenant, _, batch_id, _ = shop

    def pass_the_cutoff() -> None:
        while owner_db.execute("SELECT clock_timestamp() <= closes_at FROM batch WHERE id = %s",
                               (batch_id,)).fetchone()[0]:
            time.sleep(0.05)

    people, outcomes, sizes = _two_orders_second_blocked(shop, owner_db, 30_000, pass_the_cutoff, closes_in=2)
    assert sizes == {1: 1, 2: 1}
    assert [(kind, [(code, field) for code, field, _ in errors]) for kind, errors in outcomes] == [
        ("refused", [("BATCH_NOT_OPEN", ["batchId"])])] * 2
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = ANY(%s)",
                            (people,)).fetchone() == (0,)
    check_stock_slots(owner_db, [tenant.uuid])


def test_a_grouped_order_that_waits_too_long_is_given_up_and_placed_alone(shop, owner_db):  # type: ignore[no-untyped-def]
    """After its first order a group waits at most order_group_lock_wait_ms for a lock: the
    group commits without the second order, which is then placed alone, waiting as long as
    it takes."""
    tenant, _, _, _ = shop
    seen: dict[str, int] = {}
    # The grouped orders' customers are made inside the helper: count all but the opener's order.
    grouped = "SELECT count(*) - 1 FROM customer_order WHERE tenant_id = %s"

    def until_the_first_commits() -> None:
        deadline = time.monotonic() + 30
        while not owner_db.execute(grouped, (tenant.uuid,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the group waited for the held slots"
            time.sleep(0.02)
        time.sleep(0.3)  # the second order, alone now, waits for the held slots
        seen["committed while held"] = owner_db.execute(grouped, (tenant.uuid,)).fetchone()[0]

    people, outcomes, sizes = _two_orders_second_blocked(shop, owner_db, 200, until_the_first_commits)
    assert sizes == {1: 1, 2: 1}
    assert [kind for kind, _ in outcomes] == ["placed", "placed"]
    assert seen == {"committed while held": 1}
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = ANY(%s)",
                            (people,)).fetchone() == (2,)
    check_stock(owner_db, [tenant.uuid])
    check_stock_slots(owner_db, [tenant.uuid])



def test_a_group_whose_connection_dies_is_placed_again_and_each_order_once(shop, owner_db):  # type: ignore[no-untyped-def]
    """The server ends the group's session while its second order waits (a restart, an admin's
    pg_terminate_backend): nothing of the group committed, and its orders are placed again
    (the driver pool runs the statement once more on a new connection; the same idempotency keys
    make that exact), each once."""
    tenant, _, _, _ = shop

    def end_the_groups_session() -> None:
        view, pid = _activity()
        (ended,) = owner_db.execute(
            f"SELECT count(pg_terminate_backend({pid})) FROM {view} WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%%place_order_group(%%'").fetchone()
        assert ended == 1

    people, outcomes, sizes = _two_orders_second_blocked(shop, owner_db, 30_000, end_the_groups_session)
    assert [kind for kind, _ in outcomes] == ["placed", "placed"], outcomes
    assert sorted(owner_db.execute("SELECT customer_id, count(*) FROM customer_order WHERE customer_id = ANY(%s) "
                                   "GROUP BY customer_id", (people,)).fetchall()) == sorted((p, 1) for p in people)
    assert sizes == {1: 1, 2: 1}
    check_stock(owner_db, [tenant.uuid])
    check_stock_slots(owner_db, [tenant.uuid])


def _shop_floor(orders: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID, list[uuid.UUID], list[uuid.UUID]]],  # noqa: C901
                seed: int) -> dict[str, Any]:
    """One process, as an API worker: 12 tasks on one event loop place orders through the placer
    (4 per statement, 2 lanes), first 20 random orders each (1-3 offers, 1-2 units), then single
    units of each offer until it is sold out. Returns what happened; raises anything that was
    not a refusal (a deadlock, a lock timeout that escaped)."""
    tenant_uuid, batch_id, point, offers, customers = orders[0]
    info = _info(tenant_uuid)
    rng = random.Random(seed)
    codes: Counter[str] = Counter()

    async def one(lines: list[LineSpec]) -> str:
        request = OrderRequest(rng.choice(customers), point, lines, uuid.uuid4().hex)
        try:
            await grouping.place(info, batch_id, request)
        except UserErrors as e:
            codes[e.errors[0].code.value] += 1
            return e.errors[0].code.value
        codes["OK"] += 1
        return "OK"

    async def shopper() -> None:
        for _ in range(20):
            chosen = rng.sample(offers, rng.randint(1, 3))
            await one([LineSpec(o, rng.randint(1, 2)) for o in chosen])
        for offer in rng.sample(offers, len(offers)):
            while await one([LineSpec(offer, 1)]) != "OUT_OF_STOCK":
                pass

    async def main() -> dict[str, Any]:
        await asyncio.gather(*(shopper() for _ in range(12)))
        return {"codes": codes, **grouping.stats()}

    return _with_placer(4, 2, 100, main)


def test_grouped_orders_from_three_processes_sell_out_every_offer_without_deadlock(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db
):
    """Multi-line orders in random offer order, shared customers with per-customer limits, small
    stocks near sell-out: groups take slots and counters out of the global lock order, and must
    give up orders rather than deadlock. Every offer ends sold out exactly, the books match."""
    tenant = make_tenant()
    world = make_world(owner_db, tenant, products=4)
    batch = open_batch_with_offers(gql, world, [
        offer_input(world, 0, stockLimit=150), offer_input(world, 1, stockLimit=150),
        offer_input(world, 2, stockLimit=150, perCustomerLimit=3), offer_input(world, 3, stockLimit=150, perCustomerLimit=3)])
    offers = [_uuid(o["id"]) for o in batch["offers"]]
    customers = [c for c, _ in bulk_customers(owner_db, tenant, 80)]
    setup = [(tenant.uuid, _uuid(batch["id"]), world.point_id, offers, customers)]
    deadlocks = "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    deadlocks_before = owner_db.execute(deadlocks).fetchone()[0]
    with ProcessPoolExecutor(3) as pool:
        runs = [r.result() for r in [pool.submit(_shop_floor, setup, seed) for seed in range(3)]]
    codes = sum((r["codes"] for r in runs), Counter())
    assert set(codes) <= {"OK", "OUT_OF_STOCK", "LIMIT_EXCEEDED"}, codes
    assert all(_sold(owner_db, o) == 150 for o in offers), [_sold(owner_db, o) for o in offers]
    # PostgreSQL found no deadlock (it would have broken one after deadlock_timeout, and the group
    # would have given the order up: correct, but a second's stall). Each test process has a
    # server of its own (or runs its tests one at a time), so the count is this test's.
    time.sleep(0.6)  # the statistics are flushed at most every 0.5 s (PGSTAT_MIN_INTERVAL)
    assert owner_db.execute(deadlocks).fetchone()[0] == deadlocks_before
    grouped = sum(k for r in runs for n, k in r["sizes"].items() if n > 1)
    assert grouped > 0, runs
    check_stock(owner_db, [tenant.uuid])
    check_stock_slots(owner_db, [tenant.uuid])
    print({"codes": dict(codes), "sizes": [r["sizes"] for r in runs], "given_up": [r["given_up"] for r in runs]})


def test_an_idle_worker_sends_each_order_at_once_and_a_second_lane_opens_only_for_a_full_group(  # type: ignore[no-untyped-def]
    shop, owner_db
):
    """Alone when nothing else waits; while a statement is in flight the next orders queue behind
    it, and a second lane opens only when a full group (4 here) is waiting."""
    tenant, world, batch_id, (free, scarce, _) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 9)]
    info = _info(tenant.uuid)

    def request(customer: uuid.UUID, offer: uuid.UUID) -> OrderRequest:
        return OrderRequest(customer, world.point_id, [LineSpec(offer, 1)], uuid.uuid4().hex)

    async def one_at_a_time() -> dict[int, int]:
        for customer in people[:3]:
            await grouping.place(info, batch_id, request(customer, free))
        return grouping.stats()["sizes"]

    async def behind_a_blocked_statement() -> dict[int, int]:
        holder = await psycopg.AsyncConnection.connect(owner_db.info.dsn, password=owner_db.info.password)
        await holder.execute("SELECT 1 FROM offer_stock_slot WHERE tenant_id = %s AND offer_id = %s FOR UPDATE",
                             (tenant.uuid, free))
        blocked = asyncio.create_task(grouping.place(info, batch_id, request(people[3], free)))
        await asyncio.sleep(0.3)
        assert not blocked.done()
        queued = asyncio.create_task(grouping.place(info, batch_id, request(people[4], scarce)))
        await asyncio.sleep(0.3)
        assert not queued.done(), "an order went on a second lane while the first was busy"
        full = [asyncio.create_task(grouping.place(info, batch_id, request(c, scarce))) for c in people[5:8]]
        # Four waiting: a full group, sent on the second lane while the first is still blocked.
        placed = await asyncio.wait_for(asyncio.gather(queued, *full), 30)
        assert all(not p.replayed for p in placed) and not blocked.done()
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(blocked, 30)
        return grouping.stats()["sizes"]

    assert _with_placer(4, 2, 100, one_at_a_time) == {1: 3}
    assert _with_placer(4, 2, 100, behind_a_blocked_statement) == {1: 1, 4: 1}
    assert (_sold(owner_db, free), _sold(owner_db, scarce)) == (4, 4)
    check_stock(owner_db, [tenant.uuid])


def test_orders_read_with_other_tenant_settings_do_not_share_a_group(shop, owner_db):  # type: ignore[no-untyped-def]
    """A group's orders are written with one set of tenant settings (payment mode, currency,
    default commission): a request that read other settings (they changed in between) waits
    for a group of its own."""
    import dataclasses

    tenant, world, batch_id, (free, _, limited) = shop
    people = [c for c, _ in bulk_customers(owner_db, tenant, 4)]
    at_pickup = _info(tenant.uuid)
    prepaid = dataclasses.replace(at_pickup, payment_mode=PaymentMode.PREPAID)

    def request(customer: uuid.UUID, offer: uuid.UUID) -> OrderRequest:
        return OrderRequest(customer, world.point_id, [LineSpec(offer, 1)], uuid.uuid4().hex)

    async def main() -> tuple[list[Placed], dict[int, int]]:
        placed = await asyncio.gather(
            grouping.place(at_pickup, batch_id, request(people[0], limited)),  # alone at once
            grouping.place(at_pickup, batch_id, request(people[1], free)),
            grouping.place(prepaid, batch_id, request(people[2], free)),
            grouping.place(at_pickup, batch_id, request(people[3], free)))
        return list(placed), grouping.stats()["sizes"]

    placed, sizes = _with_placer(8, 1, 100, main)
    assert [p.order.status for p in placed] == ["PLACED", "PLACED", "PENDING_PAYMENT", "PLACED"]
    assert sizes == {1: 2, 2: 1}, sizes
    check_stock(owner_db, [tenant.uuid])
