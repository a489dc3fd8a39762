"""An offer's stock split into slots (分桶, migration 0011): invariant 1 holds as with one row.

Orders are placed with the statement the API sends, `place_order()` alone as the app role under
RLS, from many connections in several processes; the books are then read directly: every slot's
sold equals the active quantity of the lines that took from it, no slot exceeds its quota, and
the quotas add up to the stock limit.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import psycopg
import pytest
from psycopg import sql

from service import global_id
from tests.ordering_fixtures import (
    ORDER_CANCEL,
    ORDER_PLACE,
    bulk_customers,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)
from tests.reliability.invariants import check_stock, check_stock_slots

_PLACE = (
    "SELECT (r.placed).id FROM place_order(%s, %s, %s, %s, %s, %s, %s, 'h', %s, "
    "%s, 'PENDING_PAYMENT', 'CNY', 0.1, true, true) AS r"
)


def place(conn: psycopg.Connection, order: tuple, quantity: int) -> tuple[str, str]:
    """(code, message): ("OK", "") or the refusal's first error."""
    tenant, customer, batch, point, offer = order
    try:
        conn.execute(_PLACE, (tenant, customer, batch, point, [offer], [quantity], uuid.uuid4().hex,
                              "S" + uuid.uuid4().hex[:14], f"{random.randrange(10**6):06d}"))
        return "OK", ""
    except psycopg.Error as e:
        if e.sqlstate != "GB002":
            raise
        first = json.loads(e.diag.message_detail)[0]
        return first["code"], first["message"]


def _drain(url: str, orders: list[tuple], connections: int, seed: int) -> list[tuple[str, int]]:
    """One process: `connections` sessions buying 1-3 units until refused, then single units
    until refused again. Returns (code, quantity) of every attempt."""
    def session(n: int) -> list[tuple[str, int]]:
        rng = random.Random(seed * 100 + n)
        mine = []
        with psycopg.connect(url, autocommit=True) as conn:
            quantity = rng.randint(1, 3)
            while True:
                code, _ = place(conn, rng.choice(orders), quantity)
                mine.append((code, quantity))
                if code == "OUT_OF_STOCK":
                    if quantity == 1:
                        break
                    quantity = 1
                else:
                    assert code == "OK", code
                    quantity = rng.randint(1, 3) if quantity > 1 else 1
        return mine

    # result() raises what a session raised (a deadlock, say) in the test.
    with ThreadPoolExecutor(connections) as threads:
        return [r for run in [threads.submit(session, n) for n in range(connections)] for r in run.result()]


def _world(gql, make_tenant, owner_db, stock: int | None, customers: int):  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=stock)])
    people = bulk_customers(owner_db, tenant, customers)
    offer = global_id.decode_as(batch["offers"][0]["id"], "Offer")
    orders = [(tenant.uuid, c, global_id.decode_as(batch["id"], "Batch"), world.point_id, offer) for c, _ in people]
    return tenant, world, batch, people, offer, orders


def _slots(owner_db: psycopg.Connection, offer: uuid.UUID) -> list[tuple[int, int | None, int]]:
    return owner_db.execute(
        "SELECT slot, quota, sold FROM offer_stock_slot WHERE offer_id = %s ORDER BY slot", (offer,)
    ).fetchall()


def test_sixteen_sessions_in_four_processes_drain_an_offer_to_the_unit(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db, app_db_url
):
    _, _, _, _, offer, orders = _world(gql, make_tenant, owner_db, 700, 200)
    with ProcessPoolExecutor(4) as pool:
        runs = [pool.submit(_drain, app_db_url, orders, 4, seed) for seed in range(4)]
        results = [r for run in runs for r in run.result()]

    sold = sum(q for code, q in results if code == "OK")
    assert sold == 700, Counter(code for code, _ in results)
    slots = _slots(owner_db, offer)
    assert sum(s[2] for s in slots) == 700 and sum(s[1] for s in slots) == 700
    # The orders really were spread: several slots sold, and the last units came from wherever
    # they were left.
    assert sum(1 for s in slots if s[2] > 0) >= 2, slots
    tenant_id = orders[0][0]
    check_stock_slots(owner_db, [tenant_id])
    check_stock(owner_db, [tenant_id])


def test_an_order_takes_free_stock_from_other_slots_and_is_refused_only_when_the_offer_has_none(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db, app_db_url
):
    _, _, _, _, offer, orders = _world(gql, make_tenant, owner_db, 10, 20)
    sessions = [psycopg.connect(app_db_url, autocommit=True) for _ in range(9)]
    try:
        pids = [c.info.backend_pid for c in sessions]
        first = sessions[0]
        for n in range(8):
            assert place(first, orders[n], 1) == ("OK", "")
        mine = pids[0] % 8
        slots = _slots(owner_db, offer)
        assert slots[mine][2] == 8 and sum(s[1] for s in slots) == 10
        # A session on another slot: that slot alone has less than 2 free (the 2 free units are
        # spread), so these orders need the others' stock.
        other = next(c for c, pid in zip(sessions, pids, strict=True) if pid % 8 != mine)
        theirs = other.info.backend_pid % 8
        assert slots[theirs][1] - slots[theirs][2] < 2
        assert place(other, orders[10], 3) == ("OUT_OF_STOCK", "Only 2 left.")
        assert place(other, orders[11], 2) == ("OK", "")
        assert place(other, orders[12], 1) == ("OUT_OF_STOCK", "Only 0 left.")
        assert place(first, orders[13], 1) == ("OUT_OF_STOCK", "Only 0 left.")
        slots = _slots(owner_db, offer)
        assert slots[mine][2] == 8 and slots[theirs][2] == 2
        assert [s[1] for s in slots] == [s[2] for s in slots]
        line_slots = owner_db.execute(
            "SELECT stock_slot, sum(quantity) FROM order_line WHERE offer_id = %s GROUP BY stock_slot", (offer,)
        ).fetchall()
        assert dict(line_slots) == {mine: 8, theirs: 2}
        check_stock_slots(owner_db, [orders[0][0]])
    finally:
        for c in sessions:
            c.close()


def test_cancelling_gives_the_stock_back_to_the_slot_it_came_from(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=4)])
    ((_, token),) = bulk_customers(owner_db, tenant, 1)
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 4)]), token=token)["orderPlace"]
    assert placed["errors"] == [], placed
    offer = global_id.decode_as(batch["offers"][0]["id"], "Offer")
    (slot,) = owner_db.execute("SELECT stock_slot FROM order_line WHERE offer_id = %s", (offer,)).fetchone()
    assert dict((s[0], s[2]) for s in _slots(owner_db, offer))[slot] == 4
    refused = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=token)["orderPlace"]
    assert [e["code"] for e in refused["errors"]] == ["OUT_OF_STOCK"]

    cancelled = gql.data(ORDER_CANCEL, {"id": placed["order"]["id"]}, token=token)["orderCancel"]
    assert cancelled["errors"] == [], cancelled
    assert [s[2] for s in _slots(owner_db, offer)] == [0] * 8
    check_stock_slots(owner_db, [tenant.uuid])
    again = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 4)]), token=token)["orderPlace"]
    assert again["errors"] == [] and again["order"]["lines"][0]["offer"]["remainingStock"] == 0


def test_a_changed_stock_limit_spreads_the_quotas_again_and_never_below_what_is_sold(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db, app_db_url
):
    _, _, _, _, offer, orders = _world(gql, make_tenant, owner_db, 20, 10)
    with psycopg.connect(app_db_url, autocommit=True) as conn:
        for n in range(5):
            assert place(conn, orders[n], 2)[0] == "OK"
    with pytest.raises(psycopg.errors.CheckViolation) as refused:
        owner_db.execute("UPDATE offer SET stock_limit = 9 WHERE id = %s", (offer,))
    assert refused.value.diag.constraint_name == "offer_sold_check"
    assert sum(s[1] for s in _slots(owner_db, offer)) == 20

    for limit in (10, 33, None, 12):
        owner_db.execute("UPDATE offer SET stock_limit = %s WHERE id = %s", (limit, offer))
        slots = _slots(owner_db, offer)
        assert sum(s[2] for s in slots) == 10
        if limit is None:
            assert all(s[1] is None for s in slots)
        else:
            assert sum(s[1] for s in slots) == limit and all(s[2] <= s[1] for s in slots)
            # Spread evenly: no slot has more than one unit more free than another.
            free = [s[1] - s[2] for s in slots]
            assert max(free) - min(free) <= 1, slots
    with psycopg.connect(app_db_url, autocommit=True) as conn:
        assert place(conn, orders[6], 3) == ("OUT_OF_STOCK", "Only 2 left.")
        assert place(conn, orders[6], 2)[0] == "OK"
    check_stock_slots(owner_db, [orders[0][0]])


def test_slots_are_made_with_the_offer_under_the_tenants_row_level_security(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db, app_db_url
):
    tenant, _, _, _, offer, _ = _world(gql, make_tenant, owner_db, 21, 1)
    other = make_tenant()
    assert [(s[0], s[1]) for s in _slots(owner_db, offer)] == [(i, 3 if i < 5 else 2) for i in range(8)]
    with psycopg.connect(app_db_url) as conn:
        conn.execute(sql.SQL("SET LOCAL app.tenant_id = {}").format(sql.Literal(str(other.uuid))))
        assert conn.execute("SELECT count(*) FROM offer_stock_slot WHERE offer_id = %s", (offer,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM offer WHERE id = %s", (offer,)).fetchone() == (0,)
    with psycopg.connect(app_db_url) as conn:
        conn.execute(sql.SQL("SET LOCAL app.tenant_id = {}").format(sql.Literal(str(tenant.uuid))))
        assert conn.execute("SELECT offer_sold(o), (SELECT sum(quota) FROM offer_stock_slot s "
                            "WHERE s.tenant_id = o.tenant_id AND s.offer_id = o.id), o.stock_slots FROM offer o "
                            "WHERE o.tenant_id = %s AND o.id = %s", (tenant.uuid, offer)).fetchone() == (0, 21, 8)


def test_the_migration_keeps_every_offers_books_both_ways(services):  # type: ignore[no-untyped-def]
    """A database at head with orders taken from several slots, taken down to 0010 (offer.sold
    written back as the slots' sum) and up again (everything sold in slot 0, where the lines are
    then counted): the same sold quantities and limits each time, every slot balanced, and the
    offers still take orders."""
    from tests.close_fixtures import build_batch, random_spec
    from tests.test_close_derived import _migrate, scratch_database

    with scratch_database(services, "slots") as (url, conn, tenant_id):
        built = build_batch(conn, tenant_id, random_spec(random.Random(5), orders=20))
        conn.execute("UPDATE offer SET stock_limit = NULL WHERE tenant_id = %s", (tenant_id,))
        conn.execute("UPDATE offer SET stock_limit = offer_sold(offer) + 40 WHERE id = ANY(%s)",
                     (built.offer_ids[::2],))
        sessions = [psycopg.connect(url, autocommit=True) for _ in range(5)]
        try:
            for n, session in enumerate(sessions):
                for k, offer in enumerate(built.offer_ids):
                    order = (tenant_id, built.customer_ids[(n + k) % len(built.customer_ids)], built.batch_id,
                             built.point_ids[0], offer)
                    assert place(session, order, 1 + k % 3)[0] == "OK"
        finally:
            for session in sessions:
                session.close()
        assert conn.execute("SELECT count(DISTINCT stock_slot) FROM order_line").fetchone()[0] >= 2
        check_stock_slots(conn, [tenant_id])
        books = "SELECT id, {sold}, stock_limit FROM offer ORDER BY id"
        at_head = conn.execute(books.format(sold="offer_sold(offer)")).fetchall()

        _migrate(url, "0010", down=True)
        assert conn.execute(books.format(sold="sold")).fetchall() == at_head

        _migrate(url, "head")
        assert conn.execute(books.format(sold="offer_sold(offer)")).fetchall() == at_head
        check_stock_slots(conn, [tenant_id])
        with psycopg.connect(url, autocommit=True) as session:
            limited = built.offer_ids[0]
            order = (tenant_id, built.customer_ids[0], built.batch_id, built.point_ids[0], limited)
            assert place(session, order, 1)[0] == "OK"


def test_many_sessions_selling_out_a_small_stock_meet_no_deadlock(  # type: ignore[no-untyped-def]
    gql, make_tenant, owner_db, app_db_url
):
    """Near the end of the stock nearly every order finds its slot empty and locks all of them.
    A slot update that waited for another order and then found no room keeps that row locked
    (READ COMMITTED re-checks the newest version under its lock); unless it lets go, two orders
    hold slots out of order and deadlock. 24 sessions in 3 processes, 5 rounds of 90 units."""
    tenant, _, _, _, offer, orders = _world(gql, make_tenant, owner_db, 90, 120)
    for round_ in range(5):
        if round_:
            owner_db.execute("UPDATE offer SET stock_limit = stock_limit + 90 WHERE id = %s", (offer,))
        with ProcessPoolExecutor(3) as pool:
            runs = [pool.submit(_drain, app_db_url, orders, 8, 10 * round_ + seed) for seed in range(3)]
            results = [r for run in runs for r in run.result()]
        assert sum(q for code, q in results if code == "OK") == 90, Counter(code for code, _ in results)
    assert [s[2] for s in _slots(owner_db, offer)] and sum(s[2] for s in _slots(owner_db, offer)) == 450
    check_stock_slots(owner_db, [tenant.uuid])
