"""Short shipments (purchaseOrderShip): the shortfall allocated by the tenant's policy, refunded
exactly, the commission reversed, shown on the purchase order and pick list, exactly once."""

from __future__ import annotations

import threading

import httpx

from service import global_id
from tests.ordering_fixtures import add_leader, add_pickup_point, make_world
from tests.shortage_fixtures import MARK_SHIPPED, PURCHASE_ORDERS, SHIP, closed_batch, commission_of, paid_order

TENANT_UPDATE = """
mutation($input: TenantUpdateInput!) { tenantUpdate(input: $input) { errors { code field message } } }"""
PICK_LIST = """
query($b: ID!, $p: ID!) { pickList(batchId: $b, pickupPointId: $p) {
  totals { productName quantity shipped shorted }
  orders { order { id } lines { productName quantity shorted } } } }"""


def _po(gql, closed, token=None):  # type: ignore[no-untyped-def]
    edges = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]},
                     token=token or closed.world.tenant.admin_token)["purchaseOrders"]["edges"]
    assert len(edges) == 1
    return edges[0]["node"]


def _shorted(owner_db, orders):  # type: ignore[no-untyped-def]
    ids = [global_id.decode_as(o["id"], "Order") for o in orders]
    rows = dict(owner_db.execute("SELECT order_id, sum(shorted_quantity) FROM order_line WHERE order_id = ANY(%s) "
                                 "GROUP BY order_id", (ids,)).fetchall())
    return [rows[i] for i in ids]


def _refunded(owner_db, orders):  # type: ignore[no-untyped-def]
    ids = [global_id.decode_as(o["id"], "Order") for o in orders]
    return [owner_db.execute("SELECT refunded_minor FROM customer_order WHERE id = %s", (i,)).fetchone()[0]
            for i in ids]


def test_last_ordered_first_shorts_the_latest_orders_once(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.50", "1.00"],
                          [[(0, 3)], [(0, 2), (1, 1)], [(0, 4)]])
    po = _po(gql, closed)
    product0 = closed.world.product_gid(0)
    shipped = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": product0, "quantity": 4}]},
                       token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == [] and shipped["purchaseOrder"]["status"] == "SHIPPED"
    # 9 ordered, 4 shipped: the last order loses its 4, the one before it 1.
    assert _shorted(owner_db, closed.orders) == [0, 1, 4]
    assert _refunded(owner_db, closed.orders) == [0, 250, 1000]
    o3 = global_id.decode_as(closed.orders[2]["id"], "Order")
    assert owner_db.execute("SELECT status FROM customer_order WHERE id = %s", (o3,)).fetchone() == ("CANCELLED",)
    assert owner_db.execute("SELECT reason_code, quantity FROM refund WHERE order_id = %s", (o3,)).fetchall() == [
        ("SHORTAGE", 4)]
    # 10 % of 2 x 2.50 + 1.00 = 0.60 -> of 1 x 2.50 + 1.00 = 0.35.
    assert commission_of(gql, closed, closed.orders[1]["id"])["amount"]["amount"] == "0.35"
    line = next(ln for ln in _po(gql, closed)["lines"] if ln["product"]["id"] == product0)
    assert (line["quantity"], line["shipped"], line["shorted"]) == (9, 4, 5)
    pick = gql.data(PICK_LIST, {"b": closed.batch["id"], "p": closed.world.point_gid},
                    token=closed.world.leader_token)["pickList"]
    assert {t["productName"]: (t["quantity"], t["shipped"], t["shorted"]) for t in pick["totals"]} == {
        "Product 0": (9, 4, 5), "Product 1": (1, 1, 0)}
    by_order = {o["order"]["id"]: o["lines"] for o in pick["orders"]}
    assert by_order[closed.orders[1]["id"]] == [{"productName": "Product 0", "quantity": 2, "shorted": 1},
                                                {"productName": "Product 1", "quantity": 1, "shorted": 0}]

    # The same call again, and "all shipped", change nothing; other quantities are a CONFLICT.
    again = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": product0, "quantity": 4}]},
                     token=tenant.admin_token)["purchaseOrderShip"]
    assert again["errors"] == []
    assert gql.data(MARK_SHIPPED, {"id": po["id"]}, token=tenant.admin_token)["purchaseOrderMarkShipped"][
        "errors"] == []
    other = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": product0, "quantity": 3}]},
                     token=tenant.admin_token)["purchaseOrderShip"]
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CONFLICT", ["id"])]
    assert _shorted(owner_db, closed.orders) == [0, 1, 4]
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = ANY(%s)", (
        [global_id.decode_as(o["id"], "Order") for o in closed.orders],)).fetchone() == (2,)


def test_pro_rata_gives_each_line_its_share_rounded_by_largest_remainder(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    assert gql.data(TENANT_UPDATE, {"input": {"shortagePolicy": "PRO_RATA"}}, token=tenant.admin_token)[
        "tenantUpdate"]["errors"] == []
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 3)], [(0, 3)], [(0, 4)]])
    po = _po(gql, closed)
    shipped = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": closed.world.product_gid(0), "quantity": 5}]},
                       token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == []
    # Exact shares of 5: 1.5, 1.5, 2; the unit left over goes to the later of the two equal remainders.
    assert _shorted(owner_db, closed.orders) == [1, 2, 2]


def test_per_point_quantities_short_only_that_point(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    _, leader2, leader2_token = add_leader(owner_db, tenant)
    point2 = global_id.encode("PickupPoint", add_pickup_point(owner_db, tenant, leader2))
    from tests.ordering_fixtures import offer_input, open_batch_with_offers
    from tests.shortage_fixtures import BATCH_CLOSE, Closed

    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "1.00")])
    orders = [paid_order(gql, world, batch, make_customer(tenant), [(0, 2)]),
              paid_order(gql, world, batch, make_customer(tenant), [(0, 2)], point_gid=point2),
              paid_order(gql, world, batch, make_customer(tenant), [(0, 3)])]
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    closed = Closed(world, batch, orders)
    po = _po(gql, closed)
    product = world.product_gid(0)
    bad = gql.data(SHIP, {"id": po["id"], "lines": [
        {"productId": product, "quantity": 3, "pickupPointId": world.point_gid},
        {"productId": product, "quantity": 1}]}, token=tenant.admin_token)["purchaseOrderShip"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["lines", "1", "productId"])]
    over = gql.data(SHIP, {"id": po["id"], "lines": [
        {"productId": product, "quantity": 6, "pickupPointId": world.point_gid}]},
        token=tenant.admin_token)["purchaseOrderShip"]
    assert [(e["code"], e["field"]) for e in over["errors"]] == [("INVALID", ["lines", "0", "quantity"])]
    shipped = gql.data(SHIP, {"id": po["id"], "lines": [
        {"productId": product, "quantity": 3, "pickupPointId": world.point_gid}]},
        token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == []
    # Point 1 got 3 of its 5 (the later order there loses 2); point 2 all of its 2.
    assert _shorted(owner_db, orders) == [0, 0, 2]
    line = _po(gql, closed)["lines"][0]
    assert (line["quantity"], line["shipped"], line["shorted"]) == (7, 5, 2)
    assert owner_db.execute("SELECT pickup_point_id, ordered, shipped FROM delivery_line WHERE purchase_order_id = %s "
                            "ORDER BY ordered", (global_id.decode_as(po["id"], "PurchaseOrder"),)).fetchall() == [
        (global_id.decode_as(point2, "PickupPoint"), 2, 2), (world.point_id, 5, 3)]
    del leader2_token


def test_the_same_short_shipment_ten_times_at_once_allocates_once(gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)] for _ in range(6)])
    po = _po(gql, closed)
    body = {"query": SHIP, "variables": {"id": po["id"], "lines": [
        {"productId": closed.world.product_gid(0), "quantity": 5}]}}
    barrier = threading.Barrier(10)
    results: list[dict] = []

    def call() -> None:
        with httpx.Client(base_url=api_url, timeout=120) as client:
            barrier.wait()
            results.append(client.post("/graphql", json=body, headers={
                "Authorization": f"Bearer {tenant.admin_token}"}).json()["data"]["purchaseOrderShip"])

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 10 and all(r["errors"] == [] for r in results)
    assert sum(_shorted(owner_db, closed.orders)) == 7
    assert owner_db.execute("SELECT count(*), sum(quantity) FROM refund WHERE order_id = ANY(%s)", (
        [global_id.decode_as(o["id"], "Order") for o in closed.orders],)).fetchone() == (4, 7)


def test_only_the_purchase_orders_supplier_or_admins_ship(gql, tenant, make_customer, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    from tests.test_after_close import _supplier_login

    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)]])
    po = _po(gql, closed)
    variables = {"id": po["id"], "lines": [{"productId": closed.world.product_gid(0), "quantity": 1}]}
    for token in (closed.world.leader_token, make_customer(tenant).token):
        assert [e["code"] for e in gql.data(SHIP, variables, token=token)["purchaseOrderShip"]["errors"]] == [
            "FORBIDDEN"]
    other_world = make_world(owner_db, tenant)
    stranger = _supplier_login(gql, other_world)
    assert [e["code"] for e in gql.data(SHIP, variables, token=stranger)["purchaseOrderShip"]["errors"]] == [
        "NOT_FOUND"]
    assert [e["code"] for e in gql.data(SHIP, variables, token=make_tenant().admin_token)["purchaseOrderShip"][
        "errors"]] == ["NOT_FOUND"]
    unknown = gql.data(SHIP, {"id": po["id"], "lines": [{"productId": closed.world.product_gid(2), "quantity": 1}]},
                       token=tenant.admin_token)["purchaseOrderShip"]
    assert [(e["code"], e["field"]) for e in unknown["errors"]] == [("NOT_FOUND", ["lines", "0", "productId"])]
    own = _supplier_login(gql, closed.world)
    done = gql.data(SHIP, variables, token=own)["purchaseOrderShip"]
    assert done["errors"] == [] and _shorted(owner_db, closed.orders) == [1]
