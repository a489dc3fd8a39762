"""Order and purchase-order numbers: each tenant counts its own, permuted with its own random key
kept in the database, so a number says nothing across tenants; unique under concurrent processes;
numbers of the old scheme stay valid."""

from __future__ import annotations

import asyncio
import multiprocessing
import re
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest

from service import global_id
from tests.ordering_fixtures import ORDER_PLACE, make_world, offer_input, open_batch_with_offers, place_input

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"GB[0-9A-HJKMNP-TV-Z]{8}")


def _key(owner_db: psycopg.Connection, tenant_uuid: uuid.UUID, kind: str = "order") -> tuple[bytes, int]:
    row = owner_db.execute("SELECT key, next_value FROM number_counter WHERE tenant_id = %s AND kind = %s",
                           (tenant_uuid, kind)).fetchone()
    assert row is not None
    return bytes(row[0]), row[1]


def _place(gql, world, batch, customer):  # type: ignore[no-untyped-def]
    payload = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]
    assert payload["errors"] == [], payload
    return payload["order"]["number"]


def test_a_tenants_numbers_say_nothing_about_other_tenants(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    """Tenant A places 10 orders, then tenant B its first: B's number is B's own first value under
    B's own key, whatever A did; the two keys are random and differ."""
    from service.orders.numbers import format_number, format_numbers

    a, b = make_tenant(), make_tenant()
    world_a, world_b = make_world(owner_db, a), make_world(owner_db, b)
    batch_a = open_batch_with_offers(gql, world_a, [offer_input(world_a, 0)])
    batch_b = open_batch_with_offers(gql, world_b, [offer_input(world_b, 0)])
    buyer_a, buyer_b = make_customer(a), make_customer(b)
    numbers_a = [_place(gql, world_a, batch_a, buyer_a) for _ in range(10)]
    first_b = _place(gql, world_b, batch_b, buyer_b)

    key_a, _ = _key(owner_db, a.uuid)
    key_b, _ = _key(owner_db, b.uuid)
    assert len(key_a) == len(key_b) == 32 and key_a != key_b
    assert numbers_a == format_numbers(1, 10, key_a, "GB")
    assert first_b == format_number(1, key_b)
    assert all(NUMBER.fullmatch(n) for n in [*numbers_a, first_b])
    # Under A's key (or any other) B's first number is not A's eleventh.
    assert first_b != format_number(11, key_a)
    # Purchase orders have counters and keys of their own.
    other_kinds = owner_db.execute("SELECT count(DISTINCT key) FROM number_counter WHERE tenant_id = ANY(%s)",
                                   ([a.uuid, b.uuid],)).fetchone()[0]
    assert other_kinds == owner_db.execute("SELECT count(*) FROM number_counter WHERE tenant_id = ANY(%s)",
                                           ([a.uuid, b.uuid],)).fetchone()[0]


def test_no_number_key_is_kept_in_the_source() -> None:
    """The key was a constant in service/orders/numbers.py; now keys exist only in the database."""
    from service.orders import numbers

    source = (ROOT / "service" / "orders" / "numbers.py").read_text()
    assert "groupbuy-order-number" not in source and not re.search(r"""key\s*=\s*b["']""", source)
    assert not [name for name, value in vars(numbers).items() if isinstance(value, bytes) and len(value) >= 8]
    # A permutation needs a key: there is no default one.
    try:
        numbers.permute(1, b"")
    except ValueError:
        pass
    else:
        raise AssertionError("a number was made without a key")


def _draw(url: str, tenants: list[str], rounds: int) -> list[tuple[str, str]]:
    """In a process of its own: numbers of several tenants taken in turn, blocks drawn as needed."""
    from service.orders import numbers

    async def main() -> list[tuple[str, str]]:
        got = []
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            for _ in range(rounds):
                for t in tenants:
                    got.append((t, await numbers.take_order_number(conn, uuid.UUID(t))))
        return got

    return asyncio.run(main())


def test_numbers_stay_unique_across_concurrent_processes_and_requests(  # type: ignore[no-untyped-def]
        gql, make_tenant, make_customer, owner_db, app_db_url):
    a, b = make_tenant(), make_tenant()
    processes, rounds = 4, 150  # 2 x 150 numbers per process: 5 blocks of 64 per tenant and process
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        drawn = pool.starmap(_draw, [(app_db_url, [str(a.uuid), str(b.uuid)], rounds)] * processes)
    # ... while the API places orders of both tenants at once.
    worlds = {t.slug: make_world(owner_db, t) for t in (a, b)}
    batches = {t.slug: open_batch_with_offers(gql, worlds[t.slug], [offer_input(worlds[t.slug], 0)]) for t in (a, b)}
    buyers = [(t, make_customer(t)) for t in (a, b) for _ in range(4)]

    def place(item):  # type: ignore[no-untyped-def]
        t, buyer = item
        return str(t.uuid), _place(gql, worlds[t.slug], batches[t.slug], buyer)

    with ThreadPoolExecutor(8) as threads:
        placed = list(threads.map(place, buyers * 3))
    every = [pair for chunk in drawn for pair in chunk] + placed
    per_tenant = Counter(t for t, _ in every)
    assert per_tenant == {str(a.uuid): processes * rounds + 12, str(b.uuid): processes * rounds + 12}
    assert len(set(every)) == len(every), [n for n, c in Counter(every).items() if c > 1]
    for t in (a, b):
        _, counted = _key(owner_db, t.uuid)
        assert counted >= per_tenant[str(t.uuid)]  # whole blocks: the rest are gaps
        stored = owner_db.execute("SELECT count(*), count(DISTINCT number) FROM customer_order WHERE tenant_id = %s",
                                  (t.uuid,)).fetchone()
        assert stored == (12, 12)


def test_new_numbers_skip_a_legacy_number(gql, tenant, make_customer, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    """A tenant with numbers of the old scheme (migration 0014 marks it legacy): a new number equal
    to an old one is skipped, so old orders keep theirs and numbers stay unique."""
    from service.orders import numbers

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    old = _place(gql, world, batch, make_customer(tenant))
    key, last = _key(owner_db, tenant.uuid)
    # The old order holds the number the next block starts with, as an old-scheme number might.
    clash = numbers.format_number(last + 1, key)
    owner_db.execute("UPDATE customer_order SET number = %s WHERE tenant_id = %s AND number = %s",
                     (clash, tenant.uuid, old))
    owner_db.execute("UPDATE number_counter SET legacy = true WHERE tenant_id = %s", (tenant.uuid,))

    async def draw() -> list[str]:
        async with await psycopg.AsyncConnection.connect(app_db_url, autocommit=True) as conn:
            return await numbers._draw_on_driver(conn, tenant.uuid, "order", 3)

    assert asyncio.run(draw()) == [numbers.format_number(last + 2, key), numbers.format_number(last + 3, key)]



def test_a_closes_purchase_order_numbers_are_the_tenants_own(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    from service.orders.numbers import format_numbers

    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    _place(gql, world, batch, make_customer(tenant))
    closed = gql.data("mutation($id: ID!) { batchClose(id: $id) { errors { code } } }", {"id": batch["id"]},
                      token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == []
    numbers = [r[0] for r in owner_db.execute("SELECT number FROM purchase_order WHERE tenant_id = %s AND batch_id = %s",
                                              (tenant.uuid, global_id.decode_as(batch["id"], "Batch"))).fetchall()]
    key, last = _key(owner_db, tenant.uuid, "purchase_order")
    assert last == 1 and numbers == format_numbers(1, 1, key, "PO")
    assert re.fullmatch(r"PO-\d{4}-\d{4}", numbers[0]), numbers  # nothing like an order's GB + 8 characters


def test_purchase_order_numbers_cannot_be_taken_for_order_numbers() -> None:
    """The same counter value under the same key gives an order number and a purchase-order number
    of different forms (letters and digits vs. digit groups), never the same characters; purchase-
    order numbers are a permutation of 10**8 values: all distinct, digits only."""
    from service.orders.numbers import PO_NUMBERS, _keyed, _permute_po, format_number, format_numbers

    key = bytes(range(32))
    orders = format_numbers(1, 5000, key, "GB")
    purchase_orders = format_numbers(1, 5000, key, "PO")
    assert len(set(purchase_orders)) == 5000
    assert all(re.fullmatch(r"PO-\d{4}-\d{4}", n) for n in purchase_orders)
    assert all(re.fullmatch(r"GB[0-9A-HJKMNP-TV-Z]{8}", n) for n in orders)
    assert not {o[2:] for o in orders} & {p.replace("PO-", "").replace("-", "") for p in purchase_orders}
    assert format_number(7, key, "PO") == purchase_orders[6]
    # A bijection of [0, 10**8): on a slice of 2**14 inputs no two outputs meet, and all fall inside.
    keyed = _keyed(key)
    outs = [_permute_po(v, keyed) for v in range(PO_NUMBERS - 2**14, PO_NUMBERS)]
    assert len(set(outs)) == len(outs) and all(0 <= o < PO_NUMBERS for o in outs)
    with pytest.raises(ValueError):
        _permute_po(PO_NUMBERS, keyed)


def test_the_migration_backfills_counters_keys_and_pick_numbers(services):  # type: ignore[no-untyped-def]
    """Migration 0014 taken down and up again on a database with a closed batch: every tenant gets
    its counters with a random 32-byte key each, marked legacy when it has numbers already, and
    each pick list the orders its close confirmed, in the order the close numbered them."""
    import random

    from sqlalchemy import make_url
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from service.procurement.close import close_batch
    from tests.close_fixtures import build_batch, random_spec
    from tests.test_close_derived import _migrate, scratch_database

    with scratch_database(services, "numbers") as (url, conn, tenant_id):
        built = build_batch(conn, tenant_id, random_spec(random.Random(5), orders=30))

        async def close() -> None:
            engine = create_async_engine(make_url(url).set(drivername="postgresql+psycopg"))
            async with AsyncSession(engine) as session, session.begin():
                assert await close_batch(session, tenant_id=tenant_id, batch_id=built.batch_id) is not None
            await engine.dispose()

        asyncio.run(close())
        numbered = dict(conn.execute("SELECT pickup_point_id, order_ids FROM pick_list WHERE batch_id = %s",
                                     (built.batch_id,)).fetchall())
        assert numbered and all(numbered.values())
        confirmed = conn.execute(
            "SELECT pickup_point_id, array_agg(id ORDER BY created_at, id) FROM customer_order "
            "WHERE batch_id = %s AND status IN ('PAID', 'PLACED') GROUP BY pickup_point_id",
            (built.batch_id,)).fetchall()
        assert dict(confirmed) == numbered
        purchase_orders = [n for (n,) in conn.execute("SELECT number FROM purchase_order WHERE batch_id = %s",
                                                      (built.batch_id,))]
        assert purchase_orders and all(re.fullmatch(r"PO-\d{4}-\d{4}", n) for n in purchase_orders)

        _migrate(url, "0013", down=True)  # before 0014, whatever came after it
        assert conn.execute("SELECT to_regclass('number_counter')").fetchone()[0] is None
        empty = uuid.uuid4()  # a tenant without orders
        conn.execute("INSERT INTO tenant (id, slug, name, timezone, currency, payment_mode, payment_window_minutes) "
                     "VALUES (%s, %s, 'e', 'Asia/Shanghai', 'CNY', 'PREPAID', 30)", (empty, f"e-{empty.hex[:8]}"))
        _migrate(url, "head")

        counters = conn.execute("SELECT tenant_id, kind, next_value, key, legacy FROM number_counter").fetchall()
        assert sorted((t, k, n, legacy) for t, k, n, _, legacy in counters) == sorted([
            (tenant_id, "order", 0, True), (tenant_id, "purchase_order", 0, True),
            (empty, "order", 0, False), (empty, "purchase_order", 0, False)])
        keys = [bytes(key) for *_, key, _ in counters]
        assert all(len(k) == 32 for k in keys) and len(set(keys)) == len(keys)
        assert dict(conn.execute("SELECT pickup_point_id, order_ids FROM pick_list WHERE batch_id = %s",
                                 (built.batch_id,)).fetchall()) == numbered
