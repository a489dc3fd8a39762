"""Compensation by coupon (issue 23 item 5): the tenant's compensationMode and template; a short
shipment, a delivery confirmed short or damaged, and an approved after-sales request grant the
affected customer one coupon per line and occasion, through the coupons' grant path, exactly once."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import httpx

from service import global_id
from service.notify.relay import relay_tenant
from tests.conftest import run_db
from tests.coupon_fixtures import ORDER_PLACE as COUPON_ORDER_PLACE
from tests.coupon_fixtures import TEMPLATE_CREATE, TEMPLATE_END
from tests.ordering_fixtures import offer_input, open_batch_with_offers
from tests.shortage_fixtures import PURCHASE_ORDERS, SHIP, closed_batch
from tests.test_aftersales import APPROVE, _ask, _picked_up

SETTINGS = """
mutation($input: TenantUpdateInput!) { tenantUpdate(input: $input) {
  tenant { compensationMode compensationCouponTemplateId } errors { code field message } } }"""
APPROVE_WITH = """
mutation($id: ID!, $q: Int, $c: CompensationMode, $t: ID) {
  afterSalesApprove(id: $id, quantity: $q, compensation: $c, couponTemplateId: $t) {
    request { id status approvedQuantity compensations { mode quantity coupon { id } errors { code } } }
    compensation { mode quantity kept { amount } coupon { id status } errors { code field message } }
    errors { code field message } } }"""
CONFIRM = """
mutation($b: ID!, $p: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $b, pickupPointId: $p, lines: $lines) { errors { code field message } } }"""


def _template(gql: Any, tenant: Any, **input: Any) -> str:
    payload = gql.data(TEMPLATE_CREATE, {"input": {"name": "Sorry", "kind": "AMOUNT_OFF", "amountOff": "3.00",
                                                   **input}}, token=tenant.admin_token)["couponTemplateCreate"]
    assert payload["errors"] == [], payload
    return str(payload["template"]["id"])


def _set(gql: Any, tenant: Any, mode: str, template: str | None) -> dict:
    payload = gql.data(SETTINGS, {"input": {"compensationMode": mode, "compensationCouponTemplateId": template}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert payload["errors"] == [], payload
    return dict(payload["tenant"])


def _po_id(gql: Any, closed: Any) -> str:
    edges = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]},
                     token=closed.world.tenant.admin_token)["purchaseOrders"]["edges"]
    return str(edges[0]["node"]["id"])


def _order_ids(closed: Any) -> list[uuid.UUID]:
    return [global_id.decode_as(o["id"], "Order") for o in closed.orders]  # type: ignore[misc]


def _coupons(owner_db: Any, template: str) -> list[tuple]:
    return owner_db.execute("SELECT customer_id, status, granted FROM coupon WHERE template_id = %s ORDER BY "
                            "customer_id", (global_id.decode_as(template, "CouponTemplate"),)).fetchall()


def _ship_ten_times(api_url: str, token: str, po: str, lines: list[dict]) -> list[dict]:
    body = {"query": SHIP, "variables": {"id": po, "lines": lines}}
    barrier = threading.Barrier(10)
    results: list[dict] = []

    def call() -> None:
        with httpx.Client(base_url=api_url, timeout=180) as client:
            barrier.wait()
            results.append(client.post("/graphql", json=body, headers={
                "Authorization": f"Bearer {token}"}).json()["data"]["purchaseOrderShip"])

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    return results


def test_settings_are_checked_and_kept(gql, tenant):  # type: ignore[no-untyped-def]
    assert gql.data("{ tenant { compensationMode compensationCouponTemplateId } }",
                    token=tenant.admin_token)["tenant"] == {"compensationMode": "NONE",
                                                            "compensationCouponTemplateId": None}
    refused = gql.data(SETTINGS, {"input": {"compensationMode": "COUPON_AND_REFUND",
                                            "compensationCouponTemplateId": global_id.encode("CouponTemplate",
                                                                                             uuid.uuid4())}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["input", "compensationCouponTemplateId"])]
    without = gql.data(SETTINGS, {"input": {"compensationMode": "COUPON_AND_REFUND"}}, token=tenant.admin_token,
                       headers={"Accept-Language": "zh-CN"})["tenantUpdate"]
    assert [(e["code"], e["field"], e["message"]) for e in without["errors"]] == [
        ("INVALID", ["input", "compensationMode"], "请先设置补偿券模板（compensationCouponTemplateId），才能以优惠券补偿。")]
    template = _template(gql, tenant)
    assert _set(gql, tenant, "COUPON_AND_REFUND", template) == {
        "compensationMode": "COUPON_AND_REFUND", "compensationCouponTemplateId": template}
    cleared = gql.data(SETTINGS, {"input": {"compensationCouponTemplateId": ""}}, token=tenant.admin_token)[
        "tenantUpdate"]  # the mode still needs it
    assert [(e["code"], e["field"]) for e in cleared["errors"]] == [
        ("INVALID", ["input", "compensationCouponTemplateId"])]
    assert _set(gql, tenant, "NONE", "") == {"compensationMode": "NONE", "compensationCouponTemplateId": None}


def test_a_short_shipment_ten_times_at_once_grants_one_coupon_per_line(gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant, totalQuantity=100)
    _set(gql, tenant, "COUPON_AND_REFUND", template)
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)] for _ in range(6)])
    results = _ship_ten_times(api_url, tenant.admin_token, _po_id(gql, closed),
                              [{"productId": closed.world.product_gid(0), "quantity": 5}])
    assert len(results) == 10 and all(r["errors"] == [] for r in results), results
    # 12 ordered, 5 shipped: the last three orders lose 2 each, the one before 1: four lines shorted,
    # each refunded once and compensated once.
    ids = _order_ids(closed)
    assert owner_db.execute("SELECT count(*), sum(quantity) FROM refund WHERE order_id = ANY(%s)",
                            (ids,)).fetchone() == (4, 7)
    coupons = _coupons(owner_db, template)
    assert len(coupons) == 4 and len({c[0] for c in coupons}) == 4 and all(c[1:] == ("AVAILABLE", True)
                                                                           for c in coupons)
    assert owner_db.execute("SELECT claimed FROM coupon_template WHERE id = %s",
                            (global_id.decode_as(template, "CouponTemplate"),)).fetchone() == (4,)
    assert owner_db.execute("SELECT count(*), sum(kept_minor) FROM compensation WHERE order_id = ANY(%s) "
                            "AND coupon_id IS NOT NULL", (ids,)).fetchone() == (4, 0)
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE event = 'COUPON_COMPENSATION_GRANTED' "
                            "AND tenant_id = %s", (tenant.uuid,)).fetchone() == (4,)


def test_coupon_instead_of_refund_moves_no_money_and_the_money_adds_up(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant, amountOff="2.00")
    _set(gql, tenant, "COUPON_INSTEAD_OF_REFUND", template)
    customers: list[Any] = []

    def customer(t: Any) -> Any:
        customers.append(make_customer(t))
        return customers[-1]

    closed = closed_batch(gql, owner_db, tenant, customer, ["2.50", "1.00"], [[(0, 3)], [(0, 2), (1, 1)], [(0, 4)]])
    po = _po_id(gql, closed)
    shipped = gql.data(SHIP, {"id": po, "lines": [{"productId": closed.world.product_gid(0), "quantity": 4}]},
                       token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == [], shipped
    ids = _order_ids(closed)
    # The last order loses its 4, the one before 1 (LAST_ORDERED_FIRST): no refund at all ...
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = ANY(%s)", (ids,)).fetchone() == (0,)
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE event = 'REFUND_CREATED' AND tenant_id = %s",
                            (tenant.uuid,)).fetchone() == (0,)
    # ... a coupon each instead, standing for what was paid for those units.
    kept = dict(owner_db.execute("SELECT order_id, sum(kept_minor) FROM compensation WHERE order_id = ANY(%s) "
                                 "AND coupon_id IS NOT NULL GROUP BY order_id", (ids,)).fetchall())
    assert kept == {ids[1]: 250, ids[2]: 1000}
    assert [c[0] for c in _coupons(owner_db, template)] == sorted(
        global_id.decode_as(customers[k].user_id, "User") for k in (1, 2))  # type: ignore[type-var]
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE event = 'COUPON_INSTEAD_OF_REFUND' "
                            "AND tenant_id = %s", (tenant.uuid,)).fetchone() == (2,)
    # Money adds up: each order's total = the value delivered and kept + refunds + what the coupon stands for.
    for order_id in ids:
        total, refunded = owner_db.execute("SELECT total_minor, refunded_minor FROM customer_order WHERE id = %s",
                                           (order_id,)).fetchone()
        delivered = owner_db.execute("SELECT coalesce(sum((quantity - refunded_quantity) * unit_price_minor), 0) "
                                     "FROM order_line WHERE order_id = %s", (order_id,)).fetchone()[0]
        assert total == delivered + refunded + kept.get(order_id, 0), order_id
    shorted = owner_db.execute("SELECT sum(shorted_quantity), sum(refunded_quantity) FROM order_line "
                               "WHERE order_id = ANY(%s)", (ids,)).fetchone()
    assert shorted == (5, 5)
    # The leader's commission follows the goods: 10 % of 2 x 2.50 + 1.00 = 0.60 -> of 1 x 2.50 + 1.00 = 0.35.
    assert owner_db.execute("SELECT amount_minor FROM commission_entry WHERE order_id = %s",
                            (ids[1],)).fetchone() == (35,)

    # The customer is told, in their language.
    run_db(lambda engine: relay_tenant(tenant.uuid, engine=engine))
    number = closed.orders[2]["number"]
    for lang, title, body in (
            ("zh-CN", "补偿券代替退款", f"订单 {number} 缺货、破损或售后的部分以补偿券代替退款，补偿券已放入您的优惠券。"),
            ("en", "Coupon instead of a refund", f"For the shortage, damage or after-sales on order {number} you get "
                                                 "a coupon instead of a refund: it is in your coupons.")):
        edges = gql.data("{ notifications(first: 20) { edges { node { event title body } } } }",
                         token=customers[2].token, headers={"Accept-Language": lang})["notifications"]["edges"]
        assert [(e["node"]["title"], e["node"]["body"]) for e in edges
                if e["node"]["event"] == "COUPON_INSTEAD_OF_REFUND"] == [(title, body)]

    # The coupon is usable on the next order.
    batch = open_batch_with_offers(gql, closed.world, [offer_input(closed.world, 0, "9.90")])
    mine = gql.data("{ myCoupons(usable: true) { edges { node { id template { id } } } } }",
                    token=customers[2].token)["myCoupons"]["edges"]
    assert [e["node"]["template"]["id"] for e in mine] == [template]
    placed = gql.data(COUPON_ORDER_PLACE, {"input": {
        "batchId": batch["id"], "pickupPointId": closed.world.point_gid, "couponId": mine[0]["node"]["id"],
        "lines": [{"offerId": batch["offers"][0]["id"], "quantity": 1}], "idempotencyKey": uuid.uuid4().hex}},
        token=customers[2].token)["orderPlace"]
    assert placed["errors"] == [], placed
    assert placed["order"]["discount"]["amount"] == "2.00"
    assert owner_db.execute("SELECT total_minor FROM customer_order WHERE id = %s",
                            (global_id.decode_as(placed["order"]["id"], "Order"),)).fetchone() == (790,)
    assert placed["order"]["coupon"] == {"id": mine[0]["node"]["id"], "status": "RESERVED"}


def test_no_coupon_to_grant_refunds_after_all_and_says_why(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant, totalQuantity=1)
    _set(gql, tenant, "COUPON_INSTEAD_OF_REFUND", template)
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)], [(0, 2)]])
    # Two lines to compensate, one coupon left: none is granted (all or none), both are refunded.
    shipped = gql.data(SHIP, {"id": _po_id(gql, closed), "lines": [
        {"productId": closed.world.product_gid(0), "quantity": 1}]}, token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == [], shipped
    ids = _order_ids(closed)
    assert owner_db.execute("SELECT sum(amount_minor), sum(quantity) FROM refund WHERE order_id = ANY(%s)",
                            (ids,)).fetchone() == (300, 3)
    assert _coupons(owner_db, template) == []
    assert owner_db.execute("SELECT claimed FROM coupon_template WHERE id = %s",
                            (global_id.decode_as(template, "CouponTemplate"),)).fetchone() == (0,)
    assert owner_db.execute("SELECT error_code, kept_minor, mode FROM compensation WHERE order_id = ANY(%s)",
                            (ids,)).fetchall() == [("COUPON_EXHAUSTED", 0, "COUPON_INSTEAD_OF_REFUND")] * 2


def test_a_delivery_confirmed_damaged_compensates_on_top_once(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant)
    _set(gql, tenant, "COUPON_AND_REFUND", template)
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)], [(0, 3)]])
    lines = [{"productId": closed.world.product_gid(0), "received": 5, "damaged": 1}]
    for _ in range(2):  # the repeat changes nothing
        confirmed = gql.data(CONFIRM, {"b": closed.batch["id"], "p": closed.world.point_gid, "lines": lines},
                             token=closed.world.leader_token)["deliveryConfirm"]
        assert confirmed["errors"] == [], confirmed
    ids = _order_ids(closed)
    assert owner_db.execute("SELECT reason_code, quantity FROM refund WHERE order_id = ANY(%s)",
                            (ids,)).fetchall() == [("DAMAGED", 1)]
    assert owner_db.execute("SELECT reason, quantity, coupon_id IS NOT NULL FROM compensation "
                            "WHERE order_id = ANY(%s)", (ids,)).fetchall() == [("DAMAGED", 1, True)]
    assert len(_coupons(owner_db, template)) == 1


def test_an_admin_compensates_an_approval_once_however_often_it_is_sent(gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant, totalQuantity=50)
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer)
    request = _ask(gql, customer, order["lines"][0]["id"], 2)["request"]
    body = {"query": APPROVE_WITH, "variables": {"id": request["id"], "c": "COUPON_AND_REFUND", "t": template}}
    barrier = threading.Barrier(10)
    results: list[dict] = []

    def call() -> None:
        with httpx.Client(base_url=api_url, timeout=180) as client:
            barrier.wait()
            results.append(client.post("/graphql", json=body, headers={
                "Authorization": f"Bearer {tenant.admin_token}"}).json()["data"]["afterSalesApprove"])

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    ok = [r for r in results if r["errors"] == []]
    assert len(results) == 10 and len(ok) == 1, results
    assert sorted({e["code"] for r in results if r["errors"] for e in r["errors"]}) == ["CONFLICT"]
    granted = ok[0]["compensation"]
    assert (granted["mode"], granted["quantity"], granted["errors"]) == ("COUPON_AND_REFUND", 2, [])
    assert granted["coupon"]["status"] == "AVAILABLE"
    assert len(_coupons(owner_db, template)) == 1
    order_id = global_id.decode_as(order["id"], "Order")
    assert owner_db.execute("SELECT count(*), sum(quantity) FROM refund WHERE order_id = %s",
                            (order_id,)).fetchone() == (1, 2)
    mine = gql.data("{ myCoupons { edges { node { id template { id } } } } }", token=customer.token)["myCoupons"]
    assert [(e["node"]["id"], e["node"]["template"]["id"]) for e in mine["edges"]] == [
        (granted["coupon"]["id"], template)]


def test_approval_coupon_refusals(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant)
    ended = gql.data(TEMPLATE_END, {"id": template}, token=tenant.admin_token)["couponTemplateEnd"]
    assert ended["errors"] == []
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer)
    line = order["lines"][0]["id"]
    request = _ask(gql, customer, line, 1)["request"]
    # A leader approves as the tenant says; choosing is for admins.
    by_leader = gql.data(APPROVE_WITH, {"id": request["id"], "c": "COUPON_AND_REFUND"},
                         token=closed.world.leader_token)["afterSalesApprove"]
    assert [e["code"] for e in by_leader["errors"]] == ["FORBIDDEN"]
    # Instead of the refund, from an ended template: refused, nothing changed.
    instead = gql.data(APPROVE_WITH, {"id": request["id"], "c": "COUPON_INSTEAD_OF_REFUND", "t": template},
                       token=tenant.admin_token, headers={"Accept-Language": "zh-CN"})["afterSalesApprove"]
    assert [(e["code"], e["field"], e["message"]) for e in instead["errors"]] == [
        ("COUPON_EXPIRED", ["couponTemplateId"], "补偿券模板已停止发放。")]
    order_id = global_id.decode_as(order["id"], "Order")
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = %s", (order_id,)).fetchone() == (0,)
    assert owner_db.execute("SELECT count(*) FROM compensation WHERE order_id = %s", (order_id,)).fetchone() == (0,)
    # On top of the refund: the refund stands, the payload says why there is no coupon.
    on_top = gql.data(APPROVE_WITH, {"id": request["id"], "c": "COUPON_AND_REFUND", "t": template},
                      token=tenant.admin_token)["afterSalesApprove"]
    assert on_top["errors"] == [] and on_top["request"]["status"] == "APPROVED"
    assert on_top["compensation"]["coupon"] is None
    assert [(e["code"], e["field"]) for e in on_top["compensation"]["errors"]] == [
        ("COUPON_EXPIRED", ["couponTemplateId"])]
    assert on_top["request"]["compensations"] == [{"mode": "COUPON_AND_REFUND", "quantity": 1, "coupon": None,
                                                   "errors": [{"code": "COUPON_EXPIRED"}]}]
    assert owner_db.execute("SELECT count(*), sum(quantity) FROM refund WHERE order_id = %s",
                            (order_id,)).fetchone() == (1, 1)


def test_coupon_instead_of_refund_for_an_after_sales_request(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant)
    _set(gql, tenant, "COUPON_INSTEAD_OF_REFUND", template)
    closed, customer, order = _picked_up(gql, owner_db, tenant, make_customer, quantity=3)
    line = order["lines"][0]["id"]
    request = _ask(gql, customer, line, 2)["request"]
    approved = gql.data(APPROVE, {"id": request["id"]}, token=closed.world.leader_token)["afterSalesApprove"]
    assert approved["errors"] == [] and approved["request"]["status"] == "APPROVED"
    order_id = global_id.decode_as(order["id"], "Order")
    assert owner_db.execute("SELECT count(*) FROM refund WHERE order_id = %s", (order_id,)).fetchone() == (0,)
    assert len(_coupons(owner_db, template)) == 1
    # The two units are settled by the coupon: only one is left to ask for.
    again = _ask(gql, customer, line, 2)
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("CONFLICT", ["input", "quantity"])]
    assert _ask(gql, customer, line, 1)["errors"] == []


def test_a_spent_budget_grants_no_coupon_on_top_and_the_refund_stands(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    template = _template(gql, tenant, budget="10.00")
    owner_db.execute("UPDATE coupon_template SET discount_given_minor = 1000 WHERE id = %s",
                     (global_id.decode_as(template, "CouponTemplate"),))  # used up by earlier orders
    _set(gql, tenant, "COUPON_AND_REFUND", template)
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["1.00"], [[(0, 2)], [(0, 2)]])
    shipped = gql.data(SHIP, {"id": _po_id(gql, closed), "lines": [
        {"productId": closed.world.product_gid(0), "quantity": 3}]}, token=tenant.admin_token)["purchaseOrderShip"]
    assert shipped["errors"] == [], shipped
    ids = _order_ids(closed)
    assert owner_db.execute("SELECT sum(amount_minor) FROM refund WHERE order_id = ANY(%s)", (ids,)).fetchone() == (
        100,)
    assert _coupons(owner_db, template) == []
    assert owner_db.execute("SELECT error_code, mode FROM compensation WHERE order_id = ANY(%s)", (ids,)).fetchall(
        ) == [("COUPON_EXHAUSTED", "COUPON_AND_REFUND")]
