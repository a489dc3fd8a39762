"""Money adds up with coupons, over random orders, payments, cancellations, expiries, a close and
partial refunds: each order's line shares sum to its discount; what a customer paid is what they
keep plus what was refunded; the purchase orders' revenue is the list price of what goes ahead;
a coupon released by a cancelled or expired order can be used again, a consumed one cannot."""

from __future__ import annotations

import uuid
from collections import Counter

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.coupon_fixtures import MY_COUPONS, SETTINGS_UPDATE, make_shop, uid
from tests.ordering_fixtures import ORDER_CANCEL, ORDER_MARK_PAID, run_domain
from tests.test_after_close import BATCH_CLOSE, COMMISSIONS, ORDER_REFUND

ACTIONS = ("unpaid", "pay", "cancel", "expire", "pay_then_cancel")
order_plans = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3,
                 unique_by=lambda line: line[0]),
        st.booleans(),  # with a coupon
        st.sampled_from(ACTIONS),
        st.integers(0, 7),  # which lines to refund after the close (a bit mask)
    ),
    min_size=1, max_size=5,
)
templates = st.one_of(
    st.builds(lambda a: {"kind": "AMOUNT_OFF", "amountOff": f"{a / 100:.2f}"}, st.integers(1, 3000)),
    st.builds(lambda p, cap: {"kind": "PERCENT_OFF", "amountOff": None, "percentOff": str(p),
                              "maxDiscount": None if cap is None else f"{cap / 100:.2f}"},
              st.integers(1, 90), st.none() | st.integers(1, 2000)),
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(plans=order_plans, template_input=templates, on_list_price=st.booleans())
# A coupon that pays a paid order's one line in full, then that line refunded: a refund of nothing.
@example(plans=[([(1, 1)], True, "pay", 1)], template_input={"kind": "AMOUNT_OFF", "amountOff": "30.00"},
         on_list_price=False)
def test_money_adds_up_with_coupons(gql, make_tenant, owner_db, plans, template_input, on_list_price):  # type: ignore[no-untyped-def]
    from service.orders.expiry import expire_tenant_orders

    tenant = make_tenant()
    shop = make_shop(gql, owner_db, tenant, prices=("9.90", "3.35", "12.07"))
    template = shop.template(**template_input)
    customers = shop.customers(owner_db, len(plans))
    placed: list[tuple[dict, str, str | None]] = []  # (order, action, coupon)
    for (lines, with_coupon, action, _), (_, token) in zip(plans, customers, strict=True):
        coupon = shop.claim(token, template["id"])["coupon"]["id"] if with_coupon else None
        result = shop.place(token, lines, coupon)
        assert result["errors"] == [], result
        order = result["order"]
        shares = sum(int(line["discount"]["amount"].replace(".", "")) for line in order["lines"])
        assert shares == int(order["discount"]["amount"].replace(".", ""))
        assert (coupon is None) == (order["coupon"] is None)
        if action in ("pay", "pay_then_cancel"):
            paid = gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": uuid.uuid4().hex}, token=tenant.api_key)
            assert paid["orderMarkPaid"]["errors"] == []
        if action in ("cancel", "pay_then_cancel"):
            assert gql.data(ORDER_CANCEL, {"id": order["id"]}, token=token)["orderCancel"]["errors"] == []
        if action == "expire":
            owner_db.execute("UPDATE customer_order SET created_at = created_at - interval '1 day' WHERE id = %s",
                             (uid(order["id"]),))
        placed.append((order, action, coupon))
    run_domain(lambda engine: expire_tenant_orders(tenant.uuid, 60, engine=engine))

    # Released coupons are usable again (then let go again); consumed ones are not.
    for (_order, action, coupon), (_, token) in zip(placed, customers, strict=True):
        if coupon is None:
            continue
        again = shop.place(token, [(0, 3)], coupon)
        if action == "pay":
            assert [e["code"] for e in again["errors"]] == ["COUPON_NOT_APPLICABLE"]
        elif action == "unpaid":
            assert [e["code"] for e in again["errors"]] == ["COUPON_NOT_APPLICABLE"]
        else:
            assert again["errors"] == [], (action, again)
            gql.data(ORDER_CANCEL, {"id": again["order"]["id"]}, token=token)
    _check_budget(owner_db, template["id"])

    if on_list_price:
        settings_set = gql.data(SETTINGS_UPDATE, {"b": "COMMISSION_ON_LIST_PRICE"}, token=tenant.admin_token)
        assert settings_set["couponSettingsUpdate"]["errors"] == []
    closed = gql.data(BATCH_CLOSE, {"id": shop.batch["id"]}, token=tenant.admin_token)["batchClose"]
    assert closed["errors"] == []
    for (order, action, _), (_, _, _, mask) in zip(placed, plans, strict=True):
        if action != "pay":
            continue
        chosen = [line["id"] for n, line in enumerate(order["lines"]) if mask >> n & 1]
        if chosen:
            refunded = gql.data(ORDER_REFUND, {"id": order["id"], "lines": chosen},
                                token=tenant.admin_token)["orderRefund"]
            assert refunded["errors"] == [], refunded
    _check_money(owner_db, tenant.uuid, shop.batch["id"])
    _check_budget(owner_db, template["id"])
    # A coupon refunded whole comes back (the default setting); commissions are on what was paid.
    for (order, action, coupon), (_, _, _, mask), (_, token) in zip(placed, plans, customers, strict=True):
        if action == "pay" and coupon is not None:
            whole = all(mask >> n & 1 for n in range(len(order["lines"])))
            statuses = {e["node"]["id"]: e["node"]["status"]
                        for e in gql.data(MY_COUPONS, {}, token=token)["myCoupons"]["edges"]}
            assert statuses[coupon] == ("AVAILABLE" if whole else "USED")
    commissions = gql.data(COMMISSIONS, {"b": shop.batch["id"]}, token=tenant.admin_token)["commissions"]["edges"]
    expected = dict(owner_db.execute(
        "SELECT o.id, coalesce(sum(round(o.commission_rate * (l.quantity * l.unit_price_minor - %s * l.discount_minor)))"
        "  FILTER (WHERE l.status = 'ACTIVE'), 0)::bigint FROM customer_order o JOIN order_line l ON l.order_id = o.id "
        "WHERE o.batch_id = %s GROUP BY o.id", (0 if on_list_price else 1, uid(shop.batch["id"]))).fetchall())
    for edge in commissions:
        node = edge["node"]
        assert int(node["amount"]["amount"].replace(".", "")) == expected[uid(node["order"]["id"])]


def _check_budget(owner_db, template_gid: str) -> None:  # type: ignore[no-untyped-def]
    given, held = owner_db.execute(
        "SELECT t.discount_given_minor, (SELECT coalesce(sum(c.discount_minor), 0) FROM coupon c "
        "WHERE c.template_id = t.id AND c.status IN ('RESERVED', 'USED')) FROM coupon_template t WHERE t.id = %s",
        (uid(template_gid),)).fetchone()
    assert given == held


def _check_money(owner_db, tenant_id: uuid.UUID, batch_gid: str) -> None:  # type: ignore[no-untyped-def]
    batch_id = uid(batch_gid)
    lines = owner_db.execute(
        "SELECT o.id, o.status, o.total_minor, o.refunded_minor, o.discount_minor, l.status AS line_status, "
        "l.quantity * l.unit_price_minor AS amount, l.discount_minor AS share, l.id AS line_id "
        "FROM customer_order o JOIN order_line l ON l.order_id = o.id WHERE o.batch_id = %s", (batch_id,)).fetchall()
    per_order: dict = {}
    for row in lines:
        per_order.setdefault(row[0], []).append(row)
    refunds = Counter(dict(owner_db.execute(
        "SELECT order_id, sum(amount_minor) FROM refund WHERE tenant_id = %s GROUP BY order_id",
        (tenant_id,)).fetchall()))
    confirmed_list = 0
    for order_id, rows in per_order.items():
        status, total, refunded, discount = rows[0][1], rows[0][2], rows[0][3], rows[0][4]
        assert sum(r[7] for r in rows) == discount, "the line shares sum to the discount"
        payable = sum(r[6] for r in rows) - discount
        active_payable = sum(r[6] - r[7] for r in rows if r[5] == "ACTIVE")
        assert refunds[order_id] == refunded
        if status == "CANCELLED" and refunded == 0:
            continue  # never paid
        if refunded or status in ("PAID", "CONFIRMED", "READY_FOR_PICKUP", "PICKED_UP"):
            # what was paid = what the customer keeps + what was refunded
            assert payable == active_payable + refunded, (status, payable, active_payable, refunded)
            confirmed_list += sum(r[6] for r in rows if r[5] == "ACTIVE")
        assert total >= 0
    revenue = owner_db.execute("SELECT coalesce(sum(revenue_minor), 0) FROM purchase_order WHERE batch_id = %s",
                               (batch_id,)).fetchone()[0]
    assert revenue == confirmed_list + _refunded_after_close_list(owner_db, batch_id)


def _refunded_after_close_list(owner_db, batch_id: uuid.UUID) -> int:  # type: ignore[no-untyped-def]
    """List price of lines refunded after the close: the purchase orders still count them."""
    return int(owner_db.execute(
        "SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) FROM order_line l "
        "JOIN customer_order o ON o.id = l.order_id JOIN batch_close bc ON bc.batch_id = o.batch_id "
        "WHERE o.batch_id = %s AND l.status = 'CANCELLED' AND l.cancelled_at > bc.finished_at",
        (batch_id,)).fetchone()[0])
