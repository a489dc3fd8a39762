"""orderPlace with several extras at once (a coupon, a share code, 拼团): placed in one statement,
any combination; the coupon template says whether it combines with 拼团 prices; any refusal
leaves nothing written; the money adds up (line shares, commissions on the paid price)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import psycopg

from service import global_id
from tests.coupon_fixtures import TEMPLATE_CREATE, uid
from tests.group_buy_fixtures import end_window, expire_groups, group_batch, pay
from tests.growth_fixtures import close, enable_distribution, pick_up, share
from tests.ordering_fixtures import World, bulk_customers, make_world, offer_input, open_batch_with_offers

PLACE = """
mutation($input: OrderPlaceInput!) {
  orderPlace(input: $input) {
    order { id status total { amount } discount { amount } coupon { id status }
            lines { discount { amount } total { amount } } groupBuy { id status paidMembers openedAt } }
    errors { code field message }
  }
}"""
CLAIM = """
mutation($t: ID!, $k: String!) { couponClaim(templateId: $t, idempotencyKey: $k) { coupon { id } errors { code } } }"""
SETTINGS = """mutation($g: Boolean, $c: Boolean) { distributionSettingsUpdate(groupBuyOrders: $g, couponOrders: $c) {
  errors { code } } }"""


def _template(gql: Any, tenant: Any, **input: Any) -> str:
    input = {"name": "Coupon", "kind": "AMOUNT_OFF", "amountOff": "2.00", "perCustomerLimit": 10, **input}
    payload = gql.data(TEMPLATE_CREATE, {"input": input}, token=tenant.admin_token)["couponTemplateCreate"]
    assert payload["errors"] == [], payload
    return str(payload["template"]["id"])


def _coupon(gql: Any, token: str, template: str) -> str:
    payload = gql.data(CLAIM, {"t": template, "k": uuid.uuid4().hex}, token=token)["couponClaim"]
    assert payload["errors"] == [], payload
    return str(payload["coupon"]["id"])


def _place(gql: Any, world: World, batch: dict, token: str, lines: list[tuple[int, int]], *,
           key: str | None = None, **extras: Any) -> dict:
    variables = {"input": {"batchId": batch["id"], "pickupPointId": world.point_gid,
                           "lines": [{"offerId": batch["offers"][i]["id"], "quantity": q} for i, q in lines],
                           "idempotencyKey": key or uuid.uuid4().hex, **extras}}
    return dict(gql.data(PLACE, variables, token=token)["orderPlace"])


def _errors(payload: dict) -> list[tuple[str, list[str]]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _written(owner_db: psycopg.Connection, tenant: Any) -> dict[str, Any]:
    """Everything an order with extras writes, counted in the tenant."""
    t = tenant.uuid
    one = owner_db.execute(
        "SELECT (SELECT count(*) FROM customer_order WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM order_line WHERE tenant_id = %(t)s), "
        "(SELECT coalesce(sum(sold), 0) FROM offer_stock_slot WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM group_buy WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM group_buy_member WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM coupon WHERE tenant_id = %(t)s AND status <> 'AVAILABLE'), "
        "(SELECT coalesce(sum(discount_given_minor), 0) FROM coupon_template WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM order_referral WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM share_visit WHERE tenant_id = %(t)s AND order_id IS NOT NULL), "
        "(SELECT count(*) FROM referral_binding WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM outbox_event WHERE tenant_id = %(t)s AND event = 'ORDER_PLACED')",
        {"t": t}).fetchone()
    assert one is not None
    names = ("orders", "lines", "sold", "groups", "members", "coupons_taken", "discount_given", "referrals",
             "order_visits", "bindings", "events")
    return dict(zip(names, one, strict=True))


def _sharer(gql: Any, owner_db: psycopg.Connection, tenant: Any, batch: dict) -> tuple[uuid.UUID, str]:
    ((sharer, token),) = bulk_customers(owner_db, tenant, 1)
    return sharer, share(gql, token, "BATCH", batch["id"])["share"]["code"]


def test_a_coupon_with_a_share_code_is_one_order_and_commissions_are_on_the_paid_price(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.10", "0.00")
    assert gql.data(SETTINGS, {"c": True}, token=tenant.admin_token)["distributionSettingsUpdate"]["errors"] == []
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "9.90"), offer_input(world, 1, "3.30")])
    sharer, code = _sharer(gql, owner_db, tenant, batch)
    ((buyer, token),) = bulk_customers(owner_db, tenant, 1)
    coupon = _coupon(gql, token, _template(gql, tenant, amountOff="5.00"))
    placed = _place(gql, world, batch, token, [(0, 1), (1, 1)], couponId=coupon, shareCode=code)
    assert placed["errors"] == [], placed
    order = placed["order"]
    assert order["discount"] == {"amount": "5.00"} and order["coupon"] == {"id": coupon, "status": "RESERVED"}
    shares = [Decimal(line["discount"]["amount"]) for line in order["lines"]]
    # 5.00 x 990/1320 = 3.75, x 330/1320 = 1.25: exact.
    assert shares == [Decimal("3.75"), Decimal("1.25")] and sum(shares) == Decimal("5.00")
    assert owner_db.execute("SELECT total_minor FROM customer_order WHERE id = %s",
                            (uid(order["id"]),)).fetchone()[0] == 1320 - 500
    # The share code's part: the visit, the binding (a first order) and the chain on the order.
    assert owner_db.execute("SELECT level, referrer_id FROM order_referral WHERE order_id = %s",
                            (uid(order["id"]),)).fetchall() == [(1, sharer)]
    assert owner_db.execute("SELECT referrer_id FROM referral_binding WHERE customer_id = %s",
                            (buyer,)).fetchall() == [(sharer,)]
    assert pay(gql, world, order["id"])["errors"] == []
    close(gql, tenant, batch)
    pick_up(gql, world, batch, SimpleNamespace(token=token), order)  # the leader's commission is written then
    # Commissions on what was paid (COMMISSION_ON_PAID, the default): per line, rounded half-up.
    # Leader (rate 0.10): 0.1 x (990 - 375) = 61.5 -> 62, 0.1 x (330 - 125) = 20.5 -> 21.
    assert owner_db.execute("SELECT amount_minor FROM commission_entry WHERE order_id = %s",
                            (uid(order["id"]),)).fetchone()[0] == 62 + 21
    # Distribution level 1 (0.10): the same paid amounts.
    assert owner_db.execute("SELECT level, beneficiary_id, amount_minor FROM distribution_commission "
                            "WHERE order_id = %s", (uid(order["id"]),)).fetchall() == [(1, sharer, 62 + 21)]


def test_a_coupon_combines_with_a_group_only_where_its_template_says_so(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)  # offer 0: 9.90 in groups of 2; offer 1: 5.00 alone
    (_, a), (_, b) = bulk_customers(owner_db, tenant, 2)
    alone_only = _coupon(gql, a, _template(gql, tenant, name="Not with 拼团"))
    before = _written(owner_db, tenant)
    refused = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True, couponId=alone_only)
    assert _errors(refused) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])] and refused["order"] is None
    assert _written(owner_db, tenant) == before, "the refusal left nothing: no order, group, stock or coupon"
    # The same coupon on a plain order of the same customer still works.
    plain = _place(gql, world, batch, a, [(1, 1)], couponId=alone_only)
    assert plain["errors"] == [] and plain["order"]["discount"] == {"amount": "2.00"}
    # A template that stacks: start a group with one coupon, join it with another.
    stacking = _template(gql, tenant, name="With 拼团", stacksWithGroupPrice=True)
    started = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True, couponId=_coupon(gql, a, stacking))
    assert started["errors"] == [], started
    assert started["order"]["discount"] == {"amount": "2.00"} and started["order"]["total"] == {"amount": "9.90"}
    assert pay(gql, world, started["order"]["id"])["errors"] == []
    group = started["order"]["groupBuy"]["id"]
    joined = _place(gql, world, batch, b, [(0, 1)], groupBuyId=group, couponId=_coupon(gql, b, stacking))
    assert joined["errors"] == [] and joined["order"]["groupBuy"]["id"] == group
    assert pay(gql, world, joined["order"]["id"])["order"]["groupBuy"]["status"] == "SUCCEEDED"
    assert owner_db.execute("SELECT sum(discount_given_minor) FROM coupon_template WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == 600


def test_a_share_code_with_a_group_and_all_three_together(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3)
    sharer, code = _sharer(gql, owner_db, tenant, batch)
    (_, a), (b_id, b) = bulk_customers(owner_db, tenant, 2)
    started = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True, shareCode=code)
    assert started["errors"] == [], started
    order_a = uid(started["order"]["id"])
    assert owner_db.execute("SELECT referrer_id FROM order_referral WHERE order_id = %s",
                            (order_a,)).fetchall() == [(sharer,)]
    assert owner_db.execute("SELECT count(*) FROM group_buy_member WHERE order_id = %s", (order_a,)).fetchone()[0] == 1
    pay(gql, world, started["order"]["id"])
    coupon = _coupon(gql, b, _template(gql, tenant, stacksWithGroupPrice=True))
    key = uuid.uuid4().hex
    joined = _place(gql, world, batch, b, [(0, 2)], key=key, groupBuyId=started["order"]["groupBuy"]["id"],
                    shareCode=code, couponId=coupon)
    assert joined["errors"] == [], joined
    order = joined["order"]
    assert order["discount"] == {"amount": "2.00"} and order["groupBuy"]["id"] == started["order"]["groupBuy"]["id"]
    assert owner_db.execute("SELECT referrer_id FROM order_referral WHERE order_id = %s",
                            (uid(order["id"]),)).fetchall() == [(sharer,)]
    assert owner_db.execute("SELECT referrer_id FROM referral_binding WHERE customer_id = %s",
                            (b_id,)).fetchall() == [(sharer,)]
    # A retry with the same key is the first order: nothing applied twice.
    before = _written(owner_db, tenant)
    again = _place(gql, world, batch, b, [(0, 2)], key=key, groupBuyId=started["order"]["groupBuy"]["id"],
                   shareCode=code, couponId=coupon)
    assert again["errors"] == [] and again["order"]["id"] == order["id"]
    assert again["order"]["discount"] == {"amount": "2.00"}
    assert _written(owner_db, tenant) == before


def test_any_refusal_of_a_combined_order_leaves_nothing_written(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    _, code = _sharer(gql, owner_db, tenant, batch)
    (_, a), (_, b), (_, c) = bulk_customers(owner_db, tenant, 3)
    stacking = _template(gql, tenant, stacksWithGroupPrice=True)
    started = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True)
    pay(gql, world, started["order"]["id"])
    group = started["order"]["groupBuy"]["id"]
    coupon_b = _coupon(gql, b, stacking)
    cases = [
        # an unknown share code, after the group was joined
        (dict(groupBuyId=group, couponId=coupon_b, shareCode="A" * 16), ("NOT_FOUND", ["input", "shareCode"])),
        # someone else's coupon, after the group and the share code
        (dict(groupBuyId=group, couponId=_coupon(gql, c, stacking), shareCode=code),
         ("NOT_FOUND", ["input", "couponId"])),
        # a coupon below its threshold
        (dict(startGroupBuy=True, couponId=_coupon(gql, b, _template(gql, tenant, threshold="50.00",
                                                                     stacksWithGroupPrice=True)),
              shareCode=code), ("COUPON_NOT_APPLICABLE", ["input", "couponId"])),
        # 拼团 on an order of two lines, with a good coupon and share code
        (dict(startGroupBuy=True, couponId=coupon_b, shareCode=code), ("INVALID", ["input", "startGroupBuy"])),
    ]
    before = _written(owner_db, tenant)
    for extras, error in cases:
        lines = [(0, 1), (1, 1)] if "startGroupBuy" in extras and error[0] == "INVALID" else [(0, 1)]
        refused = _place(gql, world, batch, b, lines, **extras)
        assert _errors(refused) == [error], (extras, refused)
        assert _written(owner_db, tenant) == before, extras
    # The group fills; a later joiner with a coupon and a share code is refused whole.
    assert _place(gql, world, batch, b, [(0, 1)], groupBuyId=group)["errors"] == []
    coupon_c = _coupon(gql, c, stacking)
    before = _written(owner_db, tenant)
    full = _place(gql, world, batch, c, [(0, 1)], groupBuyId=group, couponId=coupon_c, shareCode=code)
    assert _errors(full) == [("GROUP_FULL", ["input", "groupBuyId"])]
    assert _written(owner_db, tenant) == before
    # ... and the coupon it did not take is still usable.
    assert _place(gql, world, batch, c, [(1, 1)], couponId=coupon_c)["errors"] == []


def test_a_group_order_paid_at_pickup_opens_its_group_with_its_coupon(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    (_, a), (_, b) = bulk_customers(owner_db, tenant, 2)
    _, code = _sharer(gql, owner_db, tenant, batch)
    stacking = _template(gql, tenant, stacksWithGroupPrice=True)
    first = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True, couponId=_coupon(gql, a, stacking))
    assert first["errors"] == [], first
    assert first["order"]["status"] == "PLACED" and first["order"]["groupBuy"]["openedAt"] is not None
    second = _place(gql, world, batch, b, [(0, 1)], groupBuyId=first["order"]["groupBuy"]["id"], shareCode=code,
                    couponId=_coupon(gql, b, stacking))
    assert second["errors"] == [] and second["order"]["groupBuy"]["status"] == "SUCCEEDED"
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event IN "
                            "('GROUP_OPENED', 'GROUP_SUCCEEDED')", (tenant.uuid,)).fetchone()[0] == 2


def test_a_failed_group_refunds_what_was_paid_and_frees_its_coupon(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=3)
    _, code = _sharer(gql, owner_db, tenant, batch)
    ((_, a),) = bulk_customers(owner_db, tenant, 1)
    coupon = _coupon(gql, a, _template(gql, tenant, stacksWithGroupPrice=True))
    started = _place(gql, world, batch, a, [(0, 1)], startGroupBuy=True, couponId=coupon, shareCode=code)
    assert started["errors"] == [], started
    paid = pay(gql, world, started["order"]["id"])
    assert paid["errors"] == [] and paid["order"]["groupBuy"]["status"] == "OPEN"
    assert owner_db.execute("SELECT status FROM coupon WHERE id = %s", (uid(coupon),)).fetchone()[0] == "USED"
    end_window(owner_db, [started["order"]["groupBuy"]["id"]])
    assert expire_groups(tenant.uuid) == 1
    status, refunded, total = owner_db.execute("SELECT status, refunded_minor, total_minor FROM customer_order "
                                               "WHERE id = %s", (uid(started["order"]["id"]),)).fetchone()
    # 9.90 less the coupon's 2.00 was paid, and exactly that comes back.
    assert (status, refunded, total) == ("CANCELLED", 790, 790)
    assert owner_db.execute("SELECT status FROM coupon WHERE id = %s", (uid(coupon),)).fetchone()[0] == "AVAILABLE"
    assert owner_db.execute("SELECT discount_given_minor, used FROM coupon_template WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone() == (0, 0)
    # The freed coupon takes another order.
    assert _place(gql, world, batch, a, [(1, 1)], couponId=coupon)["errors"] == []


def test_what_an_order_names_is_found_before_anything_else_is_refused(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "9.90", perCustomerLimit=1)])
    ((_, a),) = bulk_customers(owner_db, tenant, 1)
    assert _place(gql, world, batch, a, [(0, 1)])["errors"] == []
    _, code = _sharer(gql, owner_db, tenant, batch)
    # The offer's limit is reached, but a coupon that does not exist (or is not an ID) answers first.
    for coupon in (global_id.encode("Coupon", uuid.uuid4()), "not-an-id", world.point_gid):
        refused = _place(gql, world, batch, a, [(0, 1)], couponId=coupon, shareCode=code)
        assert refused["errors"] == [{"code": "NOT_FOUND", "field": ["input", "couponId"],
                                      "message": "No such coupon."}], coupon
    both = _place(gql, world, batch, a, [(0, 1)], couponId="x", shareCode="short", groupBuyId="y")
    assert _errors(both) == [("NOT_FOUND", ["input", "couponId"]), ("NOT_FOUND", ["input", "shareCode"]),
                             ("NOT_FOUND", ["input", "groupBuyId"])]
    # A missing offer is named before the missing coupon, as it would be alone.
    other = open_batch_with_offers(gql, world, [offer_input(world, 1, "1.00")])
    missing_offer = _place(gql, world, {**batch, "offers": other["offers"]}, a, [(0, 1)], couponId="x")
    assert _errors(missing_offer) == [("NOT_FOUND", ["input", "lines", "0", "offerId"]),
                                      ("NOT_FOUND", ["input", "couponId"])]
    assert _written(owner_db, tenant)["orders"] == 1
