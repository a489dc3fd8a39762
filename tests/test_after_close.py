"""After the cutoff, over GraphQL: the supplier's purchase order and its CSV, the leader's pick
list, goods arriving, pickup, commissions earned and reversed, after-sales refunds, COMPLETED."""

from __future__ import annotations

import asyncio
import threading
import uuid

import httpx

from service import global_id
from tests.ordering_fixtures import (
    ORDER_MARK_PAID,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

ORDER_PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) { order { id number status pickupCode lines { id status } } errors { code field message } }
}"""
BATCH_CLOSE = """mutation($id: ID!) { batchClose(id: $id) { batch { id status closedAt } errors { code field message } } }"""
PURCHASE_ORDERS = """
query($batch: ID) {
  purchaseOrders(batchId: $batch) { edges { node {
    id number status csvUrl totalCost { amount currency } supplier { name }
    lines { productName quantity unitCost { amount } total { amount }
            deliveries { quantity pickupPoint { id name } } }
  } } }
}"""
PICK_LIST = """
query($b: ID!, $p: ID!) {
  pickList(batchId: $b, pickupPointId: $p) {
    final receivedAt totals { productName unit quantity }
    orders { customerName pickNumber pickupCode order { id number status pickupCode pickNumber }
             lines { productName quantity } }
  }
}"""
DELIVERY_RECEIVE = """
mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt orders { order { status } } } }"""
PICKUP_CONFIRM = """
mutation($p: ID!, $c: String!) { pickupConfirm(pickupPointId: $p, pickupCode: $c) {
  order { id status pickupCode } errors { code field message } } }"""
MY_ORDER = "query($id: ID!) { order(id: $id) { id number pickupCode pickNumber } }"
COMMISSIONS = """
query($b: ID) { commissions(batchId: $b) { edges { node {
  status amount { amount } reversedAmount { amount } rate order { id number }
} } } }"""
ORDER_REFUND = """
mutation($id: ID!, $lines: [ID!]!) {
  orderRefund(id: $id, lineIds: $lines, reason: "damaged") {
    order { id status total { amount } refunded { amount } } errors { code field message }
  }
}"""
ACK = "mutation($id: ID!) { purchaseOrderAcknowledge(id: $id) { purchaseOrder { status } errors { code } } }"
SHIP = "mutation($id: ID!) { purchaseOrderMarkShipped(id: $id) { purchaseOrder { status } errors { code } } }"
SUPPLIER_ACCOUNT = """
mutation($input: SupplierAccountInput!) { supplierAccountCreate(input: $input) { errors { code field message } } }"""


def _supplier_login(gql, world) -> str:  # type: ignore[no-untyped-def]
    from tests.conftest import sign_in

    email = f"staff-{uuid.uuid4().hex[:6]}@farm.example"
    payload = gql.data(SUPPLIER_ACCOUNT, {"input": {"supplierId": global_id.encode("Supplier", world.supplier_id),
                                                    "email": email, "password": "supplier-pw-1"}},
                       token=world.tenant.admin_token)["supplierAccountCreate"]
    assert payload["errors"] == [], payload
    return sign_in(gql, world.tenant.slug, email, "supplier-pw-1")


def _paid_order(gql, world, batch, customer, lines):  # type: ignore[no-untyped-def]
    placed = gql.data(ORDER_PLACE, place_input(batch, world, lines), token=customer.token)["orderPlace"]
    assert placed["errors"] == [], placed
    paid = gql.data(ORDER_MARK_PAID, {"id": placed["order"]["id"], "ref": uuid.uuid4().hex},
                    token=world.tenant.api_key)["orderMarkPaid"]
    assert paid["errors"] == [], paid
    return placed["order"]


def test_the_day_after_the_cutoff(gql, tenant, make_customer, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    supplier_token = _supplier_login(gql, world)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "12.90"),
                                                offer_input(world, 1, "4.50", minGroupQuantity=10)])
    c1, c2, c3 = (make_customer(tenant, name) for name in ("王芳", "Li Lei", "张伟"))
    o1 = _paid_order(gql, world, batch, c1, [(0, 2), (1, 1)])
    o2 = _paid_order(gql, world, batch, c2, [(0, 1)])
    o3 = _paid_order(gql, world, batch, c3, [(1, 1)])

    # Before the close the leader sees a live preview.
    preview = gql.data(PICK_LIST, {"b": batch["id"], "p": world.point_gid}, token=world.leader_token)["pickList"]
    assert preview["final"] is False and {t["productName"]: t["quantity"] for t in preview["totals"]} == {
        "Product 0": 3, "Product 1": 2}
    assert {(o["pickNumber"], o["pickupCode"]) for o in preview["orders"]} == {(None, None)}

    closed = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == [] and closed["batch"]["status"] == "CLOSED" and closed["batch"]["closedAt"]
    again = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert again["errors"] == [] and again["batch"]["status"] == "CLOSED"

    # The supplier: one purchase order, Product 1 missed its minimum and is not in it.
    edges = gql.data(PURCHASE_ORDERS, {"batch": batch["id"]}, token=supplier_token)["purchaseOrders"]["edges"]
    assert len(edges) == 1
    po = edges[0]["node"]
    assert po["status"] == "SENT" and po["totalCost"] == {"amount": "15.00", "currency": "CNY"}
    assert [(ln["productName"], ln["quantity"], ln["unitCost"]["amount"], ln["total"]["amount"]) for ln in po["lines"]] \
        == [("Product 0", 3, "5.00", "15.00")]
    assert [(d["quantity"], d["pickupPoint"]["id"]) for d in po["lines"][0]["deliveries"]] == [(3, world.point_gid)]

    csv = httpx.get(po["csvUrl"])
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith("\ufeff".encode())
    rows = csv.content.decode("utf-8-sig").strip().splitlines()
    assert rows[0].startswith("purchase_order,batch,supplier,product") and len(rows) == 2
    assert ",Product 0,box,Shop,1 Road,3,5.00,15.00,CNY" in rows[1]
    plain = po["csvUrl"].split("?")[0]
    assert httpx.get(plain).status_code == 401
    assert httpx.get(plain, headers={"Authorization": f"Bearer {supplier_token}"}).status_code == 200
    assert httpx.get(plain, headers={"Authorization": f"Bearer {c1.token}"}).status_code == 404
    assert httpx.get(po["csvUrl"].replace("signature=", "signature=0")).status_code == 403

    other = make_tenant()
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": po["id"]},
                    token=other.admin_token)["node"] is None
    assert gql(PURCHASE_ORDERS, {}, token=c1.token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert gql.data(ACK, {"id": po["id"]}, token=c1.token)["purchaseOrderAcknowledge"]["errors"] == [
        {"code": "FORBIDDEN"}]
    assert gql.data(ACK, {"id": po["id"]}, token=supplier_token)["purchaseOrderAcknowledge"]["purchaseOrder"][
        "status"] == "ACKNOWLEDGED"
    assert gql.data(SHIP, {"id": po["id"]}, token=supplier_token)["purchaseOrderMarkShipped"]["purchaseOrder"][
        "status"] == "SHIPPED"
    assert gql.data(ACK, {"id": po["id"]}, token=supplier_token)["purchaseOrderAcknowledge"]["errors"] == [
        {"code": "CONFLICT"}]

    # The leader's pick list: o3 had only Product 1 and is cancelled (and refunded).
    pick = gql.data(PICK_LIST, {"b": batch["id"], "p": world.point_gid}, token=world.leader_token)["pickList"]
    assert pick["final"] is True and pick["totals"] == [{"productName": "Product 0", "unit": "box", "quantity": 3}]
    by_order = {o["order"]["id"]: o for o in pick["orders"]}
    assert set(by_order) == {o1["id"], o2["id"]}
    assert by_order[o1["id"]]["lines"] == [{"productName": "Product 0", "quantity": 2}]
    assert by_order[o1["id"]]["customerName"] == "王芳"
    # The leader sees each order's pick number (in the order they were placed; o3 was cancelled by
    # the close), never the customer's pickup code, on the list or on its orders.
    assert [(o["order"]["id"], o["pickNumber"]) for o in pick["orders"]] == [(o1["id"], 1), (o2["id"], 2)]
    assert {(o["pickupCode"], o["order"]["pickupCode"]) for o in pick["orders"]} == {(None, None)}
    assert [o["order"]["pickNumber"] for o in pick["orders"]] == [1, 2]
    # Admins see the codes; each customer sees their own order's code and pick number, no one else's.
    admins = gql.data(PICK_LIST, {"b": batch["id"], "p": world.point_gid}, token=tenant.admin_token)["pickList"]
    assert [(o["pickNumber"], o["pickupCode"]) for o in admins["orders"]] == [
        (1, o1["pickupCode"]), (2, o2["pickupCode"])]
    assert gql.data(MY_ORDER, {"id": o1["id"]}, token=c1.token)["order"] == {
        "id": o1["id"], "number": o1["number"], "pickupCode": o1["pickupCode"], "pickNumber": 1}
    assert gql.data(MY_ORDER, {"id": o1["id"]}, token=c2.token)["order"] is None
    assert gql.data(MY_ORDER, {"id": o1["id"]}, token=supplier_token)["order"] is None  # suppliers: no orders
    assert gql.data(MY_ORDER, {"id": o1["id"]}, token=tenant.api_key)["order"]["pickupCode"] == o1["pickupCode"]
    assert gql.data(MY_ORDER, {"id": o3["id"]}, token=c3.token)["order"]["pickNumber"] is None
    assert "code" not in rows[0] and o1["pickupCode"] not in csv.content.decode("utf-8-sig")  # the supplier's
    assert gql(PICK_LIST, {"b": batch["id"], "p": world.point_gid}, token=c1.token)["errors"][0][
        "extensions"]["code"] == "FORBIDDEN"
    refunds = dict(owner_db.execute("SELECT order_id, sum(amount_minor) FROM refund WHERE order_id = ANY(%s) "
                                    "GROUP BY order_id", ([global_id.decode_as(o["id"], "Order") for o in (o1, o2, o3)],)
                                    ).fetchall())
    assert refunds == {global_id.decode_as(o1["id"], "Order"): 450, global_id.decode_as(o3["id"], "Order"): 450}

    # Before the goods arrive the leader cannot hand them over, with the real code or not: the
    # order stays CONFIRMED and its commission PENDING.
    early = gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": o1["pickupCode"]},
                     token=world.leader_token)["pickupConfirm"]
    assert early["order"] is None and [(e["code"], e["field"]) for e in early["errors"]] == [
        ("NOT_ARRIVED", ["pickupCode"])]
    assert owner_db.execute("SELECT status, picked_up_at FROM customer_order WHERE id = %s",
                            (global_id.decode_as(o1["id"], "Order"),)).fetchone() == ("PAID", None)
    assert {c["node"]["order"]["id"]: c["node"]["status"] for c in gql.data(
        COMMISSIONS, {"b": batch["id"]}, token=world.leader_token)["commissions"]["edges"]}[o1["id"]] == "PENDING"

    received = gql.data(DELIVERY_RECEIVE, {"b": batch["id"], "p": world.point_gid},
                        token=world.leader_token)["deliveryReceive"]
    assert received["receivedAt"] and {o["order"]["status"] for o in received["orders"]} == {"READY_FOR_PICKUP"}

    picked = gql.data(PICKUP_CONFIRM, {"p": world.point_gid, "c": o1["pickupCode"]},
                      token=world.leader_token)["pickupConfirm"]
    assert picked["order"]["status"] == "PICKED_UP" and picked["order"]["pickupCode"] is None
    commissions = {c["node"]["order"]["id"]: c["node"] for c in gql.data(
        COMMISSIONS, {"b": batch["id"]}, token=world.leader_token)["commissions"]["edges"]}
    # 10 % of 2 x 12.90 and of 1 x 12.90
    assert commissions[o1["id"]]["status"] == "EARNED" and commissions[o1["id"]]["amount"]["amount"] == "2.58"
    assert commissions[o2["id"]]["status"] == "PENDING" and commissions[o2["id"]]["amount"]["amount"] == "1.29"

    # After-sales: o1's line (picked up, earned) and o2's only line (not picked up yet).
    line1 = next(ln["id"] for ln in o1["lines"] if ln["status"] == "ACTIVE")
    r1 = gql.data(ORDER_REFUND, {"id": o1["id"], "lines": [line1]}, token=tenant.admin_token)["orderRefund"]
    assert r1["errors"] == [] and r1["order"]["status"] == "PICKED_UP"
    assert r1["order"]["refunded"]["amount"] == "30.30"  # 4.50 at the close + 25.80 now
    line2 = o2["lines"][0]["id"]
    r2 = gql.data(ORDER_REFUND, {"id": o2["id"], "lines": [line2]}, token=tenant.admin_token)["orderRefund"]
    assert r2["order"]["status"] == "CANCELLED" and r2["order"]["total"]["amount"] == "0.00"
    twice = gql.data(ORDER_REFUND, {"id": o2["id"], "lines": [line2]}, token=tenant.admin_token)["orderRefund"]
    assert twice["errors"][0]["code"] == "CONFLICT"
    commissions = {c["node"]["order"]["id"]: c["node"] for c in gql.data(
        COMMISSIONS, {"b": batch["id"]}, token=tenant.admin_token)["commissions"]["edges"]}
    assert (commissions[o1["id"]]["status"], commissions[o1["id"]]["amount"]["amount"],
            commissions[o1["id"]]["reversedAmount"]["amount"]) == ("REVERSED", "0.00", "2.58")
    assert commissions[o2["id"]]["status"] == "REVERSED"

    # Every order is picked up or cancelled: the batch completes.
    from service.procurement.scheduling import complete_batches

    asyncio.run(complete_batches())
    status = owner_db.execute("SELECT status FROM batch WHERE id = %s",
                              (global_id.decode_as(batch["id"], "Batch"),)).fetchone()[0]
    assert status == "COMPLETED"


def test_concurrent_batch_close_calls_and_the_scheduler_close_once(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    from service.procurement.scheduling import close_due_batches
    from service.tasks import registry

    registry.install()  # as the scheduler process does
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "3.00"), offer_input(world, 1, "5.00")])
    for k in range(6):
        _paid_order(gql, world, batch, make_customer(tenant), [(0, 1 + k % 2), (1, 1)])
    batch_id = global_id.decode_as(batch["id"], "Batch")
    owner_db.execute("UPDATE batch SET closes_at = now() WHERE id = %s", (batch_id,))

    results: list[dict] = []
    barrier = threading.Barrier(11)

    def call() -> None:
        barrier.wait()
        results.append(gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"])

    def scheduler() -> None:
        barrier.wait()
        asyncio.run(close_due_batches())  # no worker runs: the broker holds it or the scheduler closes it

    threads = [threading.Thread(target=call) for _ in range(10)] + [threading.Thread(target=scheduler)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 10 and all(r["errors"] == [] and r["batch"]["status"] == "CLOSED" for r in results)
    counts = owner_db.execute(
        "SELECT (SELECT count(*) FROM purchase_order WHERE batch_id = %(b)s), "
        "(SELECT count(*) FROM pick_list WHERE batch_id = %(b)s), "
        "(SELECT count(*) FROM commission WHERE batch_id = %(b)s), "
        "(SELECT count(*) FROM outbox_event WHERE event = 'BATCH_CLOSED' AND subject_id = %(b)s)",
        {"b": batch_id}).fetchone()
    assert counts == (1, 1, 6, 1)


def test_the_platform_jobs_request_a_due_close_once_and_complete_a_finished_batch(gql, tenant, make_customer,  # type: ignore[no-untyped-def]
                                                                                  owner_db):
    """The scheduler's two statements over every tenant, as its role runs them (SECURITY DEFINER):
    a batch past its cutoff is requested for closing once per retry interval; a closed batch is
    completed when its pickup window is over, not while orders wait within it. On Citus too."""
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "3.00")])
    _paid_order(gql, world, batch, make_customer(tenant), [(0, 1)])
    batch_id = global_id.decode_as(batch["id"], "Batch")
    with owner_db.transaction(force_rollback=True):  # other tenants' due batches are left as they were
        owner_db.execute("UPDATE batch SET closes_at = statement_timestamp() WHERE tenant_id = %s AND id = %s",
                         (tenant.uuid, batch_id))

        def due(retry_seconds: int) -> set[uuid.UUID]:
            return {r[1] for r in owner_db.execute("SELECT tenant_id, batch_id FROM request_due_batch_closes(%s)",
                                                   (retry_seconds,)).fetchall()}

        assert batch_id in due(3600)
        assert batch_id not in due(3600)  # requested already, within the retry interval
        assert batch_id in due(0)  # requested again once the interval is over
    closed = gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == [] and closed["batch"]["status"] == "CLOSED", closed
    with owner_db.transaction(force_rollback=True):
        def completed(window_days: int) -> set[uuid.UUID]:
            return {r[1] for r in owner_db.execute("SELECT tenant_id, batch_id FROM complete_finished_batches(%s)",
                                                   (window_days,)).fetchall()}

        assert batch_id not in completed(36500)  # its order waits for pickup, within the window
        assert batch_id in completed(-36500)  # the window is over
        assert owner_db.execute("SELECT status FROM batch WHERE tenant_id = %s AND id = %s",
                                (tenant.uuid, batch_id)).fetchone() == ("COMPLETED",)
