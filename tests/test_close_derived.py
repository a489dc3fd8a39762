"""What the close derives instead of writing (migration 0010): an order's CONFIRMED status, its
commission, the quantities per pickup point of purchase orders and pick lists. Each must read
exactly as the rows the close used to write, stay a snapshot of the close after refunds, and
survive the migration both ways with data written the old way."""

from __future__ import annotations

import contextlib
import uuid

import httpx
import psycopg

from service import global_id
from tests.ordering_fixtures import (
    ORDER_CANCEL,
    ORDER_MARK_PAID,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)
from tests.test_after_close import (
    BATCH_CLOSE,
    DELIVERY_RECEIVE,
    ORDER_PLACE,
    ORDER_REFUND,
    PICK_LIST,
    PICKUP_CONFIRM,
    PURCHASE_ORDERS,
    _paid_order,
)

COMMISSIONS = """
query($b: ID, $after: String) { commissions(batchId: $b, first: 50, after: $after) {
  edges { cursor node { id status amount { amount } reversedAmount { amount } order { id } } }
} }"""
COMMISSION_NODE = """
query($id: ID!) { node(id: $id) { ... on Commission { id status amount { amount } reversedAmount { amount }
  order { id } } } }"""
ORDERS = """
query($b: ID, $s: [OrderStatus!]) { orders(batchId: $b, status: $s, first: 50) { edges { node { id status } } } }"""
ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"


def _commissions(gql, token, batch):  # type: ignore[no-untyped-def]
    edges = gql.data(COMMISSIONS, {"b": batch["id"]}, token=token)["commissions"]["edges"]
    return {e["node"]["order"]["id"]: e["node"] for e in edges}, [e["node"]["id"] for e in edges]


def _oid(gid: str) -> uuid.UUID:
    return global_id.decode_as(gid, "Order")


def test_a_refund_after_the_close_keeps_pick_list_and_purchase_order(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "12.90"), offer_input(world, 1, "4.50")])
    c1, c2 = make_customer(tenant), make_customer(tenant)
    o1 = _paid_order(gql, world, batch, c1, [(0, 2), (1, 1)])
    o2 = _paid_order(gql, world, batch, c2, [(0, 1)])
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []

    def shipped():  # type: ignore[no-untyped-def]
        po = gql.data(PURCHASE_ORDERS, {"batch": batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
            "edges"][0]["node"]
        lines = {ln["productName"]: (ln["quantity"], [d["quantity"] for d in ln["deliveries"]]) for ln in po["lines"]}
        csv = httpx.get(po["csvUrl"]).content.decode("utf-8-sig").strip().splitlines()[1:]
        pick = gql.data(PICK_LIST, {"b": batch["id"], "p": world.point_gid}, token=world.leader_token)["pickList"]
        return lines, sorted(csv), pick["totals"], {o["order"]["id"] for o in pick["orders"]}

    before = shipped()
    assert before[0] == {"Product 0": (3, [3]), "Product 1": (1, [1])}
    assert before[2] == [{"productName": "Product 0", "unit": "box", "quantity": 3},
                         {"productName": "Product 1", "unit": "box", "quantity": 1}]
    assert before[3] == {o1["id"], o2["id"]}

    # o2's only line, and o1's Product 1 line: what the supplier shipped and the leader received
    # does not change; the orders to hand out do.
    r2 = gql.data(ORDER_REFUND, {"id": o2["id"], "lines": [o2["lines"][0]["id"]]}, token=tenant.admin_token)
    assert r2["orderRefund"]["order"]["status"] == "CANCELLED"
    lines = dict(owner_db.execute("SELECT product_id, id FROM order_line WHERE order_id = %s",
                                  (_oid(o1["id"]),)).fetchall())
    line = global_id.encode("OrderLine", lines[world.product_ids[1]])
    r1 = gql.data(ORDER_REFUND, {"id": o1["id"], "lines": [line]}, token=tenant.admin_token)["orderRefund"]
    assert r1["errors"] == [] and r1["order"]["status"] == "CONFIRMED"

    after = shipped()
    assert after[:3] == before[:3]
    assert after[3] == {o1["id"]}
    # The same through the views the invariant checks read.
    bid = global_id.decode_as(batch["id"], "Batch")
    assert owner_db.execute(
        "SELECT sum(d.quantity) FROM purchase_order_delivery d JOIN purchase_order po ON po.id = d.purchase_order_id "
        "WHERE po.batch_id = %s", (bid,)).fetchone()[0] == 4
    assert owner_db.execute(
        "SELECT sum(l.quantity) FROM pick_list_line l JOIN pick_list p ON p.id = l.pick_list_id "
        "WHERE p.batch_id = %s", (bid,)).fetchone()[0] == 4


def test_commissions_through_pickup_and_refunds(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "12.90"), offer_input(world, 1, "4.55")])
    customers = [make_customer(tenant) for _ in range(3)]
    o1 = _paid_order(gql, world, batch, customers[0], [(0, 2), (1, 1)])
    o2 = _paid_order(gql, world, batch, customers[1], [(0, 1)])
    o3 = _paid_order(gql, world, batch, customers[2], [(1, 3)])
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    bid = global_id.decode_as(batch["id"], "Batch")
    assert owner_db.execute("SELECT count(*) FROM commission_entry WHERE batch_id = %s", (bid,)).fetchone()[0] == 0

    by_order, order_of_ids = _commissions(gql, world.leader_token, batch)
    # 10 %, rounded half-up per line: 2.58 + 0.46 (0.455); 1.29; 1.37 (1.365)
    assert {k: (v["status"], v["amount"]["amount"], v["reversedAmount"]["amount"]) for k, v in by_order.items()} == {
        o1["id"]: ("PENDING", "3.04", "0.00"), o2["id"]: ("PENDING", "1.29", "0.00"),
        o3["id"]: ("PENDING", "1.37", "0.00")}
    ids = {k: v["id"] for k, v in by_order.items()}
    node = gql.data(COMMISSION_NODE, {"id": ids[o1["id"]]}, token=world.leader_token)["node"]
    assert node == by_order[o1["id"]]
    assert gql.data(COMMISSION_NODE, {"id": ids[o1["id"]]}, token=customers[0].token)["node"] is None

    # o1: its 4.55 line refunded before pickup (PENDING, less), then picked up (EARNED).
    lines = dict(owner_db.execute("SELECT product_id, id FROM order_line WHERE order_id = %s",
                                  (_oid(o1["id"]),)).fetchall())
    line = global_id.encode("OrderLine", lines[world.product_ids[1]])
    assert gql.data(ORDER_REFUND, {"id": o1["id"], "lines": [line]}, token=tenant.admin_token)[
        "orderRefund"]["errors"] == []
    c = gql.data(COMMISSION_NODE, {"id": ids[o1["id"]]}, token=world.leader_token)["node"]
    assert (c["status"], c["amount"]["amount"], c["reversedAmount"]["amount"]) == ("PENDING", "2.58", "0.46")
    gql.data(DELIVERY_RECEIVE, {"b": batch["id"], "p": world.point_gid}, token=world.leader_token)  # goods arrived
    code = owner_db.execute("SELECT pickup_code FROM customer_order WHERE id = %s", (_oid(o1["id"]),)).fetchone()[0]
    picked = gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": code}, token=world.leader_token)["pickupConfirm"]
    assert picked["order"]["status"] == "PICKED_UP"
    c = gql.data(COMMISSION_NODE, {"id": ids[o1["id"]]}, token=world.leader_token)["node"]
    assert (c["status"], c["amount"]["amount"], c["reversedAmount"]["amount"]) == ("EARNED", "2.58", "0.46")
    # Picked up twice: earned once.
    gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": code}, token=world.leader_token)
    assert gql.data(COMMISSION_NODE, {"id": ids[o1["id"]]}, token=world.leader_token)["node"] == c

    # o2 picked up, then its line refunded: EARNED -> REVERSED. o3 refunded whole before pickup.
    code = owner_db.execute("SELECT pickup_code FROM customer_order WHERE id = %s", (_oid(o2["id"]),)).fetchone()[0]
    gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": code}, token=world.leader_token)
    assert gql.data(ORDER_REFUND, {"id": o2["id"], "lines": [o2["lines"][0]["id"]]}, token=tenant.admin_token)[
        "orderRefund"]["errors"] == []
    assert gql.data(ORDER_REFUND, {"id": o3["id"], "lines": [o3["lines"][0]["id"]]}, token=tenant.admin_token)[
        "orderRefund"]["order"]["status"] == "CANCELLED"

    by_order2, order_of_ids2 = _commissions(gql, tenant.admin_token, batch)
    assert {k: (v["status"], v["amount"]["amount"], v["reversedAmount"]["amount"]) for k, v in by_order2.items()} == {
        o1["id"]: ("EARNED", "2.58", "0.46"), o2["id"]: ("REVERSED", "0.00", "1.29"),
        o3["id"]: ("REVERSED", "0.00", "1.37")}
    # Same ids, same page order, one row each, written down only now that they changed.
    assert order_of_ids2 == order_of_ids and {k: v["id"] for k, v in by_order2.items()} == ids
    assert sorted(owner_db.execute("SELECT id FROM commission_entry WHERE batch_id = %s", (bid,)).fetchall()) == \
        sorted((_oid(o["id"]),) for o in (o1, o2, o3))
    assert owner_db.execute("SELECT count(*) FROM commission WHERE batch_id = %s", (bid,)).fetchone()[0] == 3


def test_an_order_is_confirmed_exactly_when_it_should_be(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "3.00"),
                                                offer_input(world, 1, "2.00", minGroupQuantity=50)])
    customers = [make_customer(tenant) for _ in range(5)]
    kept = _paid_order(gql, world, batch, customers[0], [(0, 1), (1, 1)])  # loses one line, confirmed
    replay_key = f"k-{uuid.uuid4().hex}"
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)], key=replay_key), token=customers[1].token)
    picked = placed["orderPlace"]["order"]
    assert gql.data(ORDER_MARK_PAID, {"id": picked["id"], "ref": uuid.uuid4().hex},
                    token=tenant.api_key)["orderMarkPaid"]["errors"] == []
    emptied = _paid_order(gql, world, batch, customers[2], [(1, 2)])  # every line below its minimum
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customers[3].token)["orderPlace"]
    assert placed["errors"] == [], placed
    unpaid = placed["order"]
    gone = _paid_order(gql, world, batch, customers[4], [(0, 1)])
    assert gql.data(ORDER_CANCEL, {"id": gone["id"]}, token=customers[4].token)["orderCancel"]["errors"] == []

    def statuses():  # type: ignore[no-untyped-def]
        token = tenant.admin_token
        return {o["id"]: gql.data(ORDER_STATUS, {"id": o["id"]}, token=token)["order"]["status"]
                for o in (kept, picked, emptied, unpaid, gone)}

    def listed(*wanted):  # type: ignore[no-untyped-def]
        edges = gql.data(ORDERS, {"b": batch["id"], "s": list(wanted)}, token=tenant.admin_token)["orders"]["edges"]
        return {e["node"]["id"] for e in edges}

    assert list(statuses().values()) == ["PAID", "PAID", "PAID", "PENDING_PAYMENT", "CANCELLED"]
    assert listed("CONFIRMED") == set() and listed("PAID") == {kept["id"], picked["id"], emptied["id"]}

    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    assert list(statuses().values()) == ["CONFIRMED", "CONFIRMED", "CANCELLED", "CANCELLED", "CANCELLED"]
    assert gql.data(ORDER_STATUS, {"id": kept["id"]}, token=customers[0].token)["order"]["status"] == "CONFIRMED"
    assert listed("CONFIRMED") == {kept["id"], picked["id"]} and listed("PAID") == set()
    assert listed("CANCELLED", "PENDING_PAYMENT") == {emptied["id"], unpaid["id"], gone["id"]}
    # Stored as paid, read as confirmed: nothing was written per order.
    assert {r[0] for r in owner_db.execute("SELECT status FROM customer_order WHERE id = ANY(%s)",
                                           ([_oid(kept["id"]), _oid(picked["id"])],))} == {"PAID"}
    # A retried orderPlace after the close replays the first order, as it reads everywhere else.
    replay = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 2)], key=replay_key), token=customers[1].token)
    assert replay["orderPlace"]["order"]["id"] == picked["id"]
    assert replay["orderPlace"]["order"]["status"] == "CONFIRMED"
    refused = gql.data(ORDER_CANCEL, {"id": kept["id"]}, token=customers[0].token)["orderCancel"]["errors"]
    assert refused[0]["code"] == "CONFLICT" and "CONFIRMED" in refused[0]["message"]

    received = gql.data(DELIVERY_RECEIVE, {"b": batch["id"], "p": world.point_gid},
                        token=world.leader_token)["deliveryReceive"]
    assert sorted(o["order"]["status"] for o in received["orders"]) == ["READY_FOR_PICKUP", "READY_FOR_PICKUP"]
    code = owner_db.execute("SELECT pickup_code FROM customer_order WHERE id = %s", (_oid(picked["id"]),)).fetchone()[0]
    gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": code}, token=world.leader_token)
    assert list(statuses().values()) == ["READY_FOR_PICKUP", "PICKED_UP", "CANCELLED", "CANCELLED", "CANCELLED"]
    assert listed("CONFIRMED") == set() and listed("READY_FOR_PICKUP") == {kept["id"]}


# -- the migration, both ways, with data -----------------------------------------------------------
@contextlib.contextmanager
def scratch_database(services, name: str):  # type: ignore[no-untyped-def]
    """A database of its own migrated to head, with one PREPAID tenant: (url, owner connection,
    tenant id). Dropped afterwards."""
    from sqlalchemy import make_url

    from tests.conftest import _create_database

    url = _create_database(services.owner_url, f"groupbuy_{name}_{uuid.uuid4().hex[:8]}")
    _migrate(url, "head")
    tenant_id = uuid.uuid4()
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("INSERT INTO tenant (id, slug, name, timezone, currency, payment_mode, "
                         "payment_window_minutes) VALUES (%s, %s, %s, 'Asia/Shanghai', 'CNY', 'PREPAID', 30)",
                         (tenant_id, f"{name[:1]}-{tenant_id.hex[:8]}", name))
            yield url, conn, tenant_id
    finally:
        with psycopg.connect(make_url(services.owner_url).set(database="postgres").render_as_string(False),
                             autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{make_url(url).database}" WITH (FORCE)')


def _migrate(url: str, revision: str, *, down: bool = False) -> None:
    from alembic import command
    from sqlalchemy import create_engine, make_url, pool

    from service.migrate import alembic_config

    engine = create_engine(make_url(url).set(drivername="postgresql+psycopg"), poolclass=pool.NullPool)
    with engine.connect() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
        conn.commit()
    engine.dispose()


READS = {
    "orders": "SELECT o.id, order_state(o.status, b.status) FROM customer_order o "
              "JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id ORDER BY o.id",
    "commissions": "SELECT id, order_id, leader_id, batch_id, rate, amount_minor, reversed_minor, status, "
                   "earned_at, reversed_at, created_at FROM commission ORDER BY created_at, id",
    "deliveries": "SELECT purchase_order_id, product_id, pickup_point_id, quantity FROM purchase_order_delivery "
                  "ORDER BY 1, 2, 3",
    "pick_lists": "SELECT pick_list_id, product_id, product_name, unit, quantity FROM pick_list_line ORDER BY 1, 2",
}


def test_the_migration_keeps_closed_batches_both_ways(services):  # type: ignore[no-untyped-def]
    """A database at 0010 with a closed batch (a refund and a pickup after the close), taken down
    to 0009 (where the close wrote every status, commission and delivery) and up again: each
    time every order status, commission, delivery and pick-list line reads the same — the rows
    0009 wrote CONFIRMED still read CONFIRMED."""
    import asyncio

    from sqlalchemy import make_url
    from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

    from service.procurement.close import close_batch
    from service.procurement.commissions import earn_commission, reverse_for_lines
    from tests.close_fixtures import build_batch, random_spec

    with scratch_database(services, "migration") as (url, conn, tenant_id):
        import random

        spec = random_spec(random.Random(11), orders=30)
        built = build_batch(conn, tenant_id, spec)

        async def close_then_after_sales() -> None:
            engine = create_async_engine(make_url(url).set(drivername="postgresql+psycopg"))
            async with AsyncSession(engine) as session, session.begin():
                assert await close_batch(session, tenant_id=tenant_id, batch_id=built.batch_id) is not None
            async with AsyncSession(engine) as session, session.begin():
                from sqlalchemy import text

                orders = (await session.execute(text(
                    "SELECT o.id, min(l.id::text)::uuid AS line FROM customer_order o JOIN order_line l "
                    "ON l.order_id = o.id WHERE o.batch_id = :b AND o.status = 'PAID' AND l.status = 'ACTIVE' "
                    "GROUP BY o.id ORDER BY o.id LIMIT 2"), {"b": built.batch_id})).all()
                assert len(orders) == 2
                (refunded, line), (picked, _) = orders
                await session.execute(text("UPDATE order_line SET status = 'CANCELLED', cancelled_at = "
                                           "clock_timestamp() WHERE id = :l"), {"l": line})
                await reverse_for_lines(session, tenant_id=tenant_id, order_id=refunded, line_ids=[line])
                await session.execute(text("UPDATE customer_order SET status = 'PICKED_UP' WHERE id = :o"),
                                      {"o": picked})
                await earn_commission(session, tenant_id=tenant_id, order_id=picked)
            await engine.dispose()

        asyncio.run(close_then_after_sales())

        def reads():  # type: ignore[no-untyped-def]
            return {k: conn.execute(q).fetchall() for k, q in READS.items()}

        at_0010 = reads()
        assert {s for _, s in at_0010["orders"]} >= {"CONFIRMED", "PICKED_UP"}
        assert at_0010["deliveries"] and at_0010["pick_lists"]
        assert {"PENDING", "EARNED"} <= {c[7] for c in at_0010["commissions"]}
        assert any(c[6] > 0 for c in at_0010["commissions"]), "the refund reversed a part"

        _migrate(url, "0009", down=True)
        # Written the old way: every confirmed order CONFIRMED, one commission row each, deliveries.
        stored = dict(conn.execute("SELECT id, status FROM customer_order").fetchall())
        assert sorted(stored.items()) == sorted(at_0010["orders"])
        assert conn.execute("SELECT count(*) FROM commission").fetchone()[0] == len(at_0010["commissions"])
        assert conn.execute(READS["deliveries"]).fetchall() == at_0010["deliveries"]
        assert conn.execute(READS["pick_lists"]).fetchall() == at_0010["pick_lists"]

        _migrate(url, "head")
        assert reads() == at_0010
        # Still stored CONFIRMED, read CONFIRMED; and a commission written by 0009 changes in place.
        assert "CONFIRMED" in {s for (s,) in conn.execute("SELECT status FROM customer_order")}

