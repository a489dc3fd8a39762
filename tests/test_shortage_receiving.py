"""Receiving at the point (deliveryConfirm): missing and damaged units become a shortage at that
point, refunded with their reason; the supplier hears of it; once, even when sent 10x at once."""

from __future__ import annotations

import json
import threading

import httpx

from service import global_id
from tests.ordering_fixtures import add_leader
from tests.shortage_fixtures import PURCHASE_ORDERS, closed_batch

CONFIRM = """
mutation($b: ID!, $p: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $b, pickupPointId: $p, lines: $lines) {
    pickList { receivedAt totals { productId productName quantity shipped shorted } orders { order { id status } } }
    errors { code field message }
  }
}"""
RECEIVE = """mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"""
DISCREPANCIES = """
query($batch: ID) { purchaseOrders(batchId: $batch) { edges { node { status discrepancies {
  ordered shipped received damaged note photoUrls product { id } pickupPoint { id } } } } } }"""


def _state(owner_db, closed):  # type: ignore[no-untyped-def]
    ids = [global_id.decode_as(o["id"], "Order") for o in closed.orders]
    lines = dict(owner_db.execute("SELECT order_id, sum(shorted_quantity) FROM order_line WHERE order_id = ANY(%s) "
                                  "GROUP BY order_id", (ids,)).fetchall())
    refunds = owner_db.execute("SELECT o.number, r.reason_code, r.quantity FROM refund r JOIN customer_order o "
                               "ON o.tenant_id = r.tenant_id AND o.id = r.order_id WHERE r.order_id = ANY(%s) "
                               "ORDER BY o.number, r.reason_code",
                               (ids,)).fetchall()
    return [lines[i] for i in ids], refunds


def test_missing_and_damaged_units_are_shorted_at_the_point_and_reported(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.00", "1.00"],
                          [[(0, 3)], [(0, 2), (1, 1)], [(0, 4)]])
    world = closed.world
    lines = [{"productId": world.product_gid(0), "received": 7, "damaged": 1, "note": "两盒压坏 crushed",
              "photoUrls": ["https://img.example/1.jpg"]}]
    variables = {"b": closed.batch["id"], "p": world.point_gid, "lines": lines}

    bad = [({"received": 10}, ["lines", "0", "received"], "INVALID"),
           ({"damaged": 8}, ["lines", "0", "damaged"], "INVALID"),
           ({"photoUrls": ["http://img.example/1.jpg"]}, ["lines", "0", "photoUrls", "0"], "INVALID"),
           ({"photoUrls": ["javascript:alert(1)"]}, ["lines", "0", "photoUrls", "0"], "INVALID"),
           ({"productId": world.product_gid(2)}, ["lines", "0", "productId"], "NOT_FOUND")]
    for change, field, code in bad:
        refused = gql.data(CONFIRM, {**variables, "lines": [{**lines[0], **change}]},
                           token=world.leader_token)["deliveryConfirm"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)], change
        assert refused["pickList"] is None
    assert _state(owner_db, closed) == ([0, 0, 0], [])

    done = gql.data(CONFIRM, variables, token=world.leader_token)["deliveryConfirm"]
    assert done["errors"] == [] and done["pickList"]["receivedAt"]
    # 9 shipped (as ordered: the purchase order was not marked shipped), 7 arrived, 1 of them damaged:
    # the last order loses 2 (SHORTAGE) and then 1 (DAMAGED).
    assert _state(owner_db, closed) == ([0, 0, 3], [
        (closed.orders[2]["number"], "DAMAGED", 1), (closed.orders[2]["number"], "SHORTAGE", 2)])
    assert {t["productName"]: (t["quantity"], t["shipped"], t["shorted"], t["productId"])
            for t in done["pickList"]["totals"]} == {
        "Product 0": (9, 9, 3, world.product_gid(0)), "Product 1": (1, 1, 0, world.product_gid(1))}
    assert {o["order"]["status"] for o in done["pickList"]["orders"]} == {"READY_FOR_PICKUP"}

    po = gql.data(DISCREPANCIES, {"batch": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]
    assert po["status"] == "SHIPPED"
    assert po["discrepancies"] == [{"ordered": 9, "shipped": 9, "received": 7, "damaged": 1,
                                    "note": "两盒压坏 crushed", "photoUrls": ["https://img.example/1.jpg"],
                                    "product": {"id": world.product_gid(0)}, "pickupPoint": {"id": world.point_gid}}]
    (payload,) = [json.loads(p) if isinstance(p, str) else p for (p,) in owner_db.execute(
        "SELECT payload FROM outbox_event WHERE tenant_id = %s AND event = 'DELIVERY_DISCREPANCY'",
        (tenant.uuid,)).fetchall()]
    po_id = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]["id"]
    assert payload["purchaseOrderId"] == po_id and payload["pickupPointId"] == world.point_gid
    assert payload["lines"] == [{"productId": world.product_gid(0), "shipped": 9, "received": 7, "missing": 2,
                                 "damaged": 1, "note": "两盒压坏 crushed", "photoUrls": ["https://img.example/1.jpg"],
                                 "refunded": {"amount": "6.00", "currency": "CNY"}}]
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": payload["purchaseOrderId"]},
                    token=tenant.admin_token)["node"] == {"id": po_id}
    # The supplier hears of it: its staff in-app, its contact address by e-mail.
    from service.notify.recipients import EMAIL_RECIPIENTS, IN_APP_RECIPIENTS
    from tests.test_after_close import _supplier_login

    _supplier_login(gql, world)
    owner_db.execute("UPDATE supplier SET contact_email = 'Orders@Farm.example' WHERE id = %s", (world.supplier_id,))
    staff = owner_db.execute("SELECT id FROM app_user WHERE supplier_id = %s", (world.supplier_id,)).fetchall()
    event = owner_db.execute("SELECT id FROM outbox_event WHERE tenant_id = %s AND event = 'DELIVERY_DISCREPANCY'",
                             (tenant.uuid,)).fetchone()[0]

    def recipients(sql: str) -> set:  # type: ignore[type-arg]
        query = sql.replace("%", "%%").replace(":tenant_id", "%(tenant_id)s").replace(":ids", "%(ids)s")
        return {r[1] for r in owner_db.execute(query, {"tenant_id": tenant.uuid, "ids": [str(event)]}).fetchall()}

    assert recipients(IN_APP_RECIPIENTS) == {u for (u,) in staff} and staff
    assert recipients(EMAIL_RECIPIENTS) == {"orders@farm.example"}

    # A repeat, and deliveryReceive ("all arrived" as confirmed), change nothing; other quantities: CONFLICT.
    assert gql.data(CONFIRM, variables, token=world.leader_token)["deliveryConfirm"]["errors"] == []
    assert gql.data(RECEIVE, {"b": closed.batch["id"], "p": world.point_gid}, token=world.leader_token)[
        "deliveryReceive"]["receivedAt"]
    other = gql.data(CONFIRM, {**variables, "lines": [{**lines[0], "received": 8}]},
                     token=world.leader_token)["deliveryConfirm"]
    assert [(e["code"], e["field"]) for e in other["errors"]] == [("CONFLICT", ["pickupPointId"])]
    assert _state(owner_db, closed)[0] == [0, 0, 3]


def test_only_that_points_leader_or_admins_confirm(gql, tenant, make_customer, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)]])
    variables = {"b": closed.batch["id"], "p": closed.world.point_gid,
                 "lines": [{"productId": closed.world.product_gid(0), "received": 1}]}
    _, _, other_leader = add_leader(owner_db, tenant)
    for token in (other_leader, make_customer(tenant).token):
        assert [e["code"] for e in gql.data(CONFIRM, variables, token=token)["deliveryConfirm"]["errors"]] == [
            "FORBIDDEN"]
    assert [(e["code"], e["field"]) for e in gql.data(CONFIRM, variables, token=make_tenant().admin_token)[
        "deliveryConfirm"]["errors"]] == [("NOT_FOUND", ["batchId"])]
    assert _state(owner_db, closed)[0] == [0]
    assert gql.data(CONFIRM, variables, token=tenant.admin_token)["deliveryConfirm"]["errors"] == []
    assert _state(owner_db, closed)[0] == [1]


def test_the_same_receipt_ten_times_at_once_allocates_once(gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)] for _ in range(5)])
    body = {"query": CONFIRM, "variables": {"b": closed.batch["id"], "p": closed.world.point_gid, "lines": [
        {"productId": closed.world.product_gid(0), "received": 6, "damaged": 1}]}}
    barrier = threading.Barrier(10)
    results: list[dict] = []

    def call() -> None:
        with httpx.Client(base_url=api_url, timeout=120) as client:
            barrier.wait()
            results.append(client.post("/graphql", json=body, headers={
                "Authorization": f"Bearer {closed.world.leader_token}"}).json()["data"]["deliveryConfirm"])

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 10 and all(r["errors"] == [] for r in results)
    shorted, refunds = _state(owner_db, closed)
    assert sum(shorted) == 5 and sum(q for _, _, q in refunds) == 5
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = "
                            "'DELIVERY_DISCREPANCY'", (tenant.uuid,)).fetchone() == (1,)
