"""Refunds by quantity (orderLinesRefund): in parts, never beyond what was paid, with a reason
code and who did it (Order.refunds); the commission taken back by quantity with exact per-line rounding;
orderRefund (whole lines) through the same path; concurrent refunds of one line."""

from __future__ import annotations

import threading
from decimal import ROUND_HALF_UP, Decimal

from service import global_id
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers
from tests.shortage_fixtures import BATCH_CLOSE, LINES_REFUND, ORDER_REFUND, closed_batch, commission_of, paid_order


def _commission(rate: str, units: int, price_minor: int) -> int:
    return int((Decimal(rate) * units * price_minor).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def test_a_line_is_refunded_in_parts_never_beyond_what_was_paid(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["3.35", "2.00"], [[(0, 5), (1, 2)]])
    order = closed.orders[0]
    line0 = next(ln for ln in order["lines"] if ln["quantity"] == 5)["id"]
    full = _commission("0.1", 5, 335) + _commission("0.1", 2, 200)
    assert commission_of(gql, closed, order["id"])["amount"]["amount"] == f"{Decimal(full) / 100:.2f}"

    first = gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line0, "quantity": 2}],
                                    "reason": "QUALITY", "note": "two were soft"},
                     token=tenant.admin_token)["orderLinesRefund"]
    assert first["errors"] == []
    assert first["order"]["refunded"]["amount"] == "6.70" and first["order"]["status"] == "CONFIRMED"
    line = next(ln for ln in first["order"]["lines"] if ln["id"] == line0)
    assert (line["status"], line["refundedQuantity"], line["shortedQuantity"]) == ("ACTIVE", 2, 0)
    # 10 % of 5 x 3.35 = 1.675 -> 1.68; of 3 x 3.35 = 1.005 -> 1.01: 0.67 taken back, not 0.1 x 6.70 rounded.
    c = commission_of(gql, closed, order["id"])
    taken = _commission("0.1", 5, 335) - _commission("0.1", 3, 335)
    assert taken == 67
    assert c["reversedAmount"]["amount"] == "0.67" and c["amount"]["amount"] == f"{Decimal(full - taken) / 100:.2f}"

    # More than is left: refused, nothing changed.
    too_many = gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line0, "quantity": 4}],
                                       "reason": "QUALITY"}, token=tenant.admin_token)["orderLinesRefund"]
    assert [(e["code"], e["field"]) for e in too_many["errors"]] == [("CONFLICT", ["lines", "0", "quantity"])]
    for bad, field in ((0, "quantity"), (-1, "quantity")):
        refused = gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line0, "quantity": bad}],
                                          "reason": "OTHER"}, token=tenant.admin_token)["orderLinesRefund"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", ["lines", "0", field])]
    # The same line twice in one call counts twice.
    twice = gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line0, "quantity": 2},
                                                                 {"lineId": line0, "quantity": 2}],
                                    "reason": "OTHER"}, token=tenant.admin_token)["orderLinesRefund"]
    assert [(e["code"], e["field"]) for e in twice["errors"]] == [("CONFLICT", ["lines", "1", "quantity"])]
    assert owner_db.execute("SELECT refunded_quantity FROM order_line WHERE id = %s",
                            (global_id.decode_as(line0, "OrderLine"),)).fetchone() == (2,)

    # orderRefund refunds what is left of the line, through the same path.
    whole = gql.data(ORDER_REFUND, {"id": order["id"], "lines": [line0]}, token=tenant.admin_token)["orderRefund"]
    assert whole["errors"] == [] and whole["order"]["refunded"]["amount"] == "16.75"
    line = next(ln for ln in whole["order"]["lines"] if ln["id"] == line0)
    assert (line["status"], line["refundedQuantity"]) == ("CANCELLED", 5)
    c = commission_of(gql, closed, order["id"])
    assert c["amount"]["amount"] == f"{Decimal(_commission('0.1', 2, 200)) / 100:.2f}"
    again = gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line0, "quantity": 1}],
                                    "reason": "OTHER"}, token=tenant.admin_token)["orderLinesRefund"]
    assert again["errors"][0]["code"] == "CONFLICT"

    rows = owner_db.execute(
        "SELECT quantity, amount_minor, reason_code, reason, actor_kind, actor_id IS NOT NULL FROM refund "
        "WHERE order_id = %s ORDER BY created_at", (global_id.decode_as(order["id"], "Order"),)).fetchall()
    assert rows == [(2, 670, "QUALITY", "two were soft", "user", True), (3, 1005, "OTHER", "damaged", "user", True)]


def test_only_admins_refund_and_ids_of_other_tenants_are_not_found(gql, tenant, make_customer, make_tenant,  # type: ignore[no-untyped-def]
                                                                    owner_db):
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)]])
    order = closed.orders[0]
    variables = {"o": order["id"], "lines": [{"lineId": order["lines"][0]["id"], "quantity": 1}],
                 "reason": "OTHER"}
    for token in (closed.world.leader_token, make_customer(tenant).token):
        refused = gql.data(LINES_REFUND, variables, token=token)["orderLinesRefund"]
        assert [e["code"] for e in refused["errors"]] == ["FORBIDDEN"]
    other = make_tenant()
    assert [e["code"] for e in gql.data(LINES_REFUND, variables, token=other.admin_token)[
        "orderLinesRefund"]["errors"]] == ["NOT_FOUND"]
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = %s",
                            (global_id.decode_as(order["id"], "Order"),)).fetchone() == (0,)


def test_concurrent_refunds_of_one_line_never_refund_more_than_was_paid(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["3.35"], [[(0, 10)]])
    order = closed.orders[0]
    line = order["lines"][0]["id"]
    results: list[dict] = []
    barrier = threading.Barrier(12)

    def call() -> None:
        barrier.wait()
        results.append(gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line, "quantity": 3}],
                                               "reason": "QUALITY"}, token=tenant.admin_token)["orderLinesRefund"])

    threads = [threading.Thread(target=call) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    ok = [r for r in results if not r["errors"]]
    assert len(results) == 12 and len(ok) == 3
    assert {e["code"] for r in results if r["errors"] for e in r["errors"]} == {"CONFLICT"}
    lid = global_id.decode_as(line, "OrderLine")
    assert owner_db.execute("SELECT refunded_quantity, status FROM order_line WHERE id = %s", (lid,)).fetchone() == (
        9, "ACTIVE")
    assert owner_db.execute("SELECT count(*), sum(amount_minor), sum(quantity) FROM refund WHERE order_line_id = %s",
                            (lid,)).fetchone() == (3, 9 * 335, 9)
    c = commission_of(gql, closed, order["id"])
    assert c["amount"]["amount"] == f"{Decimal(_commission('0.1', 1, 335)) / 100:.2f}"


REFUNDS = """
query($id: ID!) { order(id: $id) { refunds {
  id amount { amount } reason reasonCode quantity line { id } refundedByKind refundedBy { id }
} } }"""


def test_an_orders_refunds_say_why_how_many_and_who(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "3.35")])
    customer = make_customer(tenant)
    order = paid_order(gql, world, batch, customer, [(0, 5)])
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    line = order["lines"][0]["id"]
    assert gql.data(REFUNDS, {"id": order["id"]}, token=tenant.admin_token)["order"]["refunds"] == []

    assert gql.data(LINES_REFUND, {"o": order["id"], "lines": [{"lineId": line, "quantity": 2}], "reason": "DAMAGED",
                                   "note": "two crushed"}, token=tenant.admin_token)["orderLinesRefund"]["errors"] == []
    assert gql.data(ORDER_REFUND, {"id": order["id"], "lines": [line]}, token=tenant.admin_token)["orderRefund"][
        "errors"] == []
    admin = gql.data("{ me { userId } }", token=tenant.admin_token)["me"]["userId"]
    seen = gql.data(REFUNDS, {"id": order["id"]}, token=tenant.admin_token)["order"]["refunds"]
    assert [{k: v for k, v in r.items() if k != "id"} for r in seen] == [
        {"amount": {"amount": "6.70"}, "reason": "two crushed", "reasonCode": "DAMAGED", "quantity": 2,
         "line": {"id": line}, "refundedByKind": "USER", "refundedBy": {"id": admin}},
        {"amount": {"amount": "10.05"}, "reason": "damaged", "reasonCode": "OTHER", "quantity": 3,
         "line": {"id": line}, "refundedByKind": "USER", "refundedBy": {"id": admin}}]
    # Each resolves through node(); the customer sees their refunds, not which admin made them.
    for r in seen:
        assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": r["id"]},
                        token=tenant.admin_token)["node"] == {"id": r["id"]}
    mine = gql.data(REFUNDS, {"id": order["id"]}, token=customer.token)["order"]["refunds"]
    assert [(r["id"], r["reasonCode"], r["quantity"], r["refundedByKind"], r["refundedBy"]) for r in mine] == [
        (seen[0]["id"], "DAMAGED", 2, "USER", None), (seen[1]["id"], "OTHER", 3, "USER", None)]
