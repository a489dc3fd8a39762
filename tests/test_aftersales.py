"""After-sales requests (售后): asked by the order's customer within the window after pickup,
approved (in full or part, refunded through the one path) or rejected by the point's leader or
admins, cancelled by the customer while open; every other transition a CONFLICT."""

from __future__ import annotations

import json
import threading

from service import global_id
from tests.ordering_fixtures import add_leader
from tests.shortage_fixtures import LINES_REFUND, closed_batch, commission_of

RECEIVE = """mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"""
PICKUP = """mutation($p: ID!, $c: String!) { pickupConfirm(pickupPointId: $p, pickupCode: $c) {
  order { status } errors { code } } }"""
REQUEST = """
mutation($input: AfterSalesRequestInput!) { afterSalesRequest(input: $input) {
  request { id status quantity approvedQuantity reason note photoUrls requestedAt order { id } line { id }
            pickupPoint { id } }
  errors { code field message } } }"""
APPROVE = """mutation($id: ID!, $q: Int) { afterSalesApprove(id: $id, quantity: $q) {
  request { id status approvedQuantity decidedAt } errors { code field message } } }"""
REJECT = """mutation($id: ID!, $r: String!) { afterSalesReject(id: $id, reason: $r) {
  request { id status decisionReason } errors { code field message } } }"""
CANCEL = """mutation($id: ID!) { afterSalesCancel(id: $id) { request { id status } errors { code field message } } }"""
LIST = """query($s: AfterSalesStatus, $p: ID) { afterSalesRequests(status: $s, pickupPointId: $p) {
  edges { node { id status quantity } } pageInfo { hasNextPage } } }"""
WINDOW = """mutation($h: Int!) { tenantUpdate(input: {afterSalesWindowHours: $h}) { errors { code } } }"""


def _picked_up(gql, owner_db, tenant, make_customer, quantity=4, price="2.50"):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    closed = closed_batch(gql, owner_db, tenant, lambda _t: customer, [price], [[(0, quantity)]])
    order = closed.orders[0]
    assert gql.data(RECEIVE, {"b": closed.batch["id"], "p": closed.world.point_gid},
                    token=closed.world.leader_token)["deliveryReceive"]["receivedAt"]
    assert gql.data(PICKUP, {"p": closed.world.point_gid, "c": order["pickupCode"]},
                    token=closed.world.leader_token)["pickupConfirm"]["order"]["status"] == "PICKED_UP"
    return closed, customer, order


def _ask(gql, customer, line, q, **kw):  # type: ignore[no-untyped-def]
    return gql.data(REQUEST, {"input": {"lineId": line, "quantity": q, "reason": "QUALITY", **kw}},
                    token=customer.token)["afterSalesRequest"]


def test_request_approve_in_part_reject_cancel(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer)
    leader = closed.world.leader_token
    line = order["lines"][0]["id"]
    stranger = make_customer(tenant)

    assert [(e["code"], e["field"]) for e in _ask(gql, stranger, line, 1)["errors"]] == [
        ("NOT_FOUND", ["input", "lineId"])]
    assert [(e["code"], e["field"]) for e in _ask(gql, customer, line, 1, photoUrls=["ftp://x/y.jpg"])["errors"]] == [
        ("INVALID", ["input", "photoUrls", "0"])]
    assert [(e["code"], e["field"]) for e in _ask(gql, customer, line, 5)["errors"]] == [
        ("CONFLICT", ["input", "quantity"])]
    asked = _ask(gql, customer, line, 2, note="一个坏了 one was bad", photoUrls=["https://img.example/egg.jpg"])
    assert asked["errors"] == []
    request = asked["request"]
    assert (request["status"], request["quantity"], request["reason"], request["photoUrls"]) == (
        "REQUESTED", 2, "QUALITY", ["https://img.example/egg.jpg"])
    assert request["order"]["id"] == order["id"] and request["line"]["id"] == line
    assert request["pickupPoint"]["id"] == closed.world.point_gid
    assert [(e["code"], e["field"]) for e in _ask(gql, customer, line, 1)["errors"]] == [
        ("CONFLICT", ["input", "lineId"])]  # one open request per line

    # Who sees it: the point's leader and admins, the customer; not another customer or leader.
    def ids(token, **v):  # type: ignore[no-untyped-def]
        return [e["node"]["id"] for e in gql.data(LIST, v, token=token)["afterSalesRequests"]["edges"]]
    assert ids(leader, s="REQUESTED") == [request["id"]] and ids(customer.token) == [request["id"]]
    assert ids(tenant.admin_token, p=closed.world.point_gid) == [request["id"]]
    _, _, other_leader = add_leader(owner_db, tenant)
    assert ids(stranger.token) == [] and ids(other_leader) == []
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert gql.data(node, {"id": request["id"]}, token=stranger.token)["node"] is None
    assert gql.data(node, {"id": request["id"]}, token=customer.token)["node"] == {"id": request["id"]}

    # Deciding: not the customer, not another leader.
    assert [e["code"] for e in gql.data(APPROVE, {"id": request["id"]}, token=customer.token)[
        "afterSalesApprove"]["errors"]] == ["FORBIDDEN"]
    assert [e["code"] for e in gql.data(APPROVE, {"id": request["id"]}, token=other_leader)[
        "afterSalesApprove"]["errors"]] == ["NOT_FOUND"]
    assert [(e["code"], e["field"]) for e in gql.data(APPROVE, {"id": request["id"], "q": 3}, token=leader)[
        "afterSalesApprove"]["errors"]] == [("INVALID", ["quantity"])]
    approved = gql.data(APPROVE, {"id": request["id"], "q": 1}, token=leader)["afterSalesApprove"]
    assert approved["errors"] == [] and approved["request"]["status"] == "APPROVED"
    assert approved["request"]["approvedQuantity"] == 1 and approved["request"]["decidedAt"]
    oid = global_id.decode_as(order["id"], "Order")
    assert owner_db.execute("SELECT quantity, amount_minor, reason_code, reason FROM refund WHERE order_id = %s",
                            (oid,)).fetchall() == [(1, 250, "QUALITY", "一个坏了 one was bad")]
    # 10 % of 4 x 2.50 = 1.00 -> of 3 x 2.50 = 0.75: the commission (earned at pickup) is reversed by 0.25.
    c = commission_of(gql, closed, order["id"])
    assert (c["status"], c["amount"]["amount"], c["reversedAmount"]["amount"]) == ("REVERSED", "0.75", "0.25")
    for mutation, variables, name in ((APPROVE, {"id": request["id"]}, "afterSalesApprove"),
                                      (REJECT, {"id": request["id"], "r": "no"}, "afterSalesReject")):
        assert [e["code"] for e in gql.data(mutation, variables, token=leader)[name]["errors"]] == ["CONFLICT"]
    assert [e["code"] for e in gql.data(CANCEL, {"id": request["id"]}, token=customer.token)[
        "afterSalesCancel"]["errors"]] == ["CONFLICT"]

    second = _ask(gql, customer, line, 3)["request"]
    assert [(e["code"], e["field"]) for e in gql.data(REJECT, {"id": second["id"], "r": " "}, token=leader)[
        "afterSalesReject"]["errors"]] == [("INVALID", ["reason"])]
    rejected = gql.data(REJECT, {"id": second["id"], "r": "照片看不出问题 the photo shows no fault"},
                        token=tenant.admin_token)["afterSalesReject"]
    assert rejected["request"]["status"] == "REJECTED" and rejected["request"]["decisionReason"].startswith("照片")
    third = _ask(gql, customer, line, 3)["request"]
    assert [e["code"] for e in gql.data(CANCEL, {"id": third["id"]}, token=stranger.token)["afterSalesCancel"][
        "errors"]] == ["NOT_FOUND"]
    assert gql.data(CANCEL, {"id": third["id"]}, token=customer.token)["afterSalesCancel"]["request"][
        "status"] == "CANCELLED"
    assert [e["code"] for e in gql.data(APPROVE, {"id": third["id"]}, token=leader)["afterSalesApprove"][
        "errors"]] == ["CONFLICT"]

    events = owner_db.execute(
        "SELECT event, payload FROM outbox_event WHERE tenant_id = %s AND event LIKE 'AFTER_SALES_%%' "
        "ORDER BY created_at", (tenant.uuid,)).fetchall()
    assert [e for e, _ in events] == ["AFTER_SALES_REQUESTED", "AFTER_SALES_APPROVED", "AFTER_SALES_REQUESTED",
                                      "AFTER_SALES_REJECTED", "AFTER_SALES_REQUESTED", "AFTER_SALES_CANCELLED"]
    payload = events[1][1] if isinstance(events[1][1], dict) else json.loads(events[1][1])
    assert payload["afterSalesRequestId"] == request["id"] and payload["orderId"] == order["id"]
    assert payload["approvedQuantity"] == 1


def test_requests_only_after_pickup_and_until_the_window_ends(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    early = closed_batch(gql, owner_db, tenant, lambda _t: customer, ["1.00"], [[(0, 1)]])
    assert [e["code"] for e in _ask(gql, customer, early.orders[0]["lines"][0]["id"], 1)["errors"]] == ["CONFLICT"]

    assert gql.data(WINDOW, {"h": 2}, token=tenant.admin_token)["tenantUpdate"]["errors"] == []
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer)
    oid = global_id.decode_as(order["id"], "Order")
    line = order["lines"][0]["id"]
    owner_db.execute("UPDATE customer_order SET picked_up_at = now() - interval '119 minutes' WHERE id = %s", (oid,))
    inside = _ask(gql, customer, line, 1)
    assert inside["errors"] == []
    assert gql.data(CANCEL, {"id": inside["request"]["id"]}, token=customer.token)["afterSalesCancel"]["errors"] == []
    owner_db.execute("UPDATE customer_order SET picked_up_at = now() - interval '121 minutes' WHERE id = %s", (oid,))
    late = _ask(gql, customer, line, 1)
    assert [(e["code"], e["field"]) for e in late["errors"]] == [("CONFLICT", ["input", "lineId"])]
    assert "2 h" in late["errors"][0]["message"]


def test_concurrent_approvals_and_refunds_never_refund_more_than_was_paid(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer, quantity=10, price="3.35")
    line = order["lines"][0]["id"]
    request = _ask(gql, customer, line, 8)["request"]
    results: list[tuple[str, dict]] = []
    barrier = threading.Barrier(10)

    def approve() -> None:
        barrier.wait()
        results.append(("approve", gql.data(APPROVE, {"id": request["id"]}, token=closed.world.leader_token)[
            "afterSalesApprove"]))

    def refund() -> None:
        barrier.wait()
        results.append(("refund", gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line, "quantity": 3}],
                                                         "reason": "OTHER"}, token=tenant.admin_token)[
            "orderLinesRefund"]))

    threads = [threading.Thread(target=approve) for _ in range(5)] + [threading.Thread(target=refund)
                                                                      for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 10
    ok = [(kind, r) for kind, r in results if not r["errors"]]
    approvals = [r for kind, r in ok if kind == "approve"]
    refunds = [r for kind, r in ok if kind == "refund"]
    assert len(approvals) <= 1 and 8 * len(approvals) + 3 * len(refunds) <= 10
    lid = global_id.decode_as(line, "OrderLine")
    refunded = owner_db.execute("SELECT refunded_quantity FROM order_line WHERE id = %s", (lid,)).fetchone()[0]
    assert refunded == 8 * len(approvals) + 3 * len(refunds) <= 10
    assert owner_db.execute("SELECT sum(quantity), sum(amount_minor) FROM refund WHERE order_line_id = %s",
                            (lid,)).fetchone() == (refunded, refunded * 335)
    status = owner_db.execute("SELECT status FROM after_sales_request WHERE id = %s",
                              (global_id.decode_as(request["id"], "AfterSalesRequest"),)).fetchone()[0]
    assert status == ("APPROVED" if approvals else "REQUESTED")
