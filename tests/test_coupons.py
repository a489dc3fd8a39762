"""Coupons through the public API: templates, claims, grants, redemption, release, report."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from service import global_id
from tests.coupon_fixtures import (
    AVAILABLE,
    GRANT,
    MY_COUPONS,
    REPORT,
    SETTINGS_UPDATE,
    TEMPLATE_CREATE,
    TEMPLATE_END,
    TEMPLATE_PAUSE,
    TEMPLATES,
    make_shop,
    uid,
    user_gid,
)
from tests.ordering_fixtures import ORDER_CANCEL, ORDER_MARK_PAID
from tests.test_after_close import BATCH_CLOSE, ORDER_REFUND


def _errors(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["errors"]]


def test_templates_are_created_checked_and_listed(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    amount = shop.template(name="满30减5", amountOff="5.00", threshold="30.00", totalQuantity=10, budget="100.00")
    assert (amount["kind"], amount["active"], amount["amountOff"], amount["threshold"], amount["budget"]) == (
        "AMOUNT_OFF", True, {"amount": "5.00"}, {"amount": "30.00"}, {"amount": "100.00", "currency": "CNY"})
    percent = shop.template(kind="PERCENT_OFF", amountOff=None, percentOff="15", maxDiscount="8.00")
    assert (percent["percentOff"], percent["maxDiscount"]) == ("15.00", {"amount": "8.00"})
    unit = shop.template(kind="UNIT_OFF", amountOff="20.00", offerIds=[shop.offer(0)])
    assert unit["kind"] == "UNIT_OFF"

    def refused(**input):  # type: ignore[no-untyped-def]
        payload = gql.data(TEMPLATE_CREATE, {"input": {"name": "x", "kind": "AMOUNT_OFF", **input}},
                           token=tenant.admin_token)["couponTemplateCreate"]
        assert payload["template"] is None
        return _errors(payload)

    assert refused() == [("INVALID", ["input", "amountOff"])]
    assert refused(amountOff="-1") == [("INVALID", ["input", "amountOff"])]
    assert refused(kind="PERCENT_OFF", percentOff="101") == [("INVALID", ["input", "percentOff"])]
    assert refused(kind="UNIT_OFF", amountOff="1") == [("INVALID", ["input", "offerIds"])]
    assert refused(amountOff="1", perCustomerLimit=0) == [("INVALID", ["input", "perCustomerLimit"])]
    assert refused(amountOff="1", audience="GROUP_MEMBERS") == [("INVALID", ["input", "communityGroupIds"])]
    assert refused(amountOff="1", offerIds=[global_id.encode("Offer", uuid.uuid4())]) == [
        ("NOT_FOUND", ["input", "offerIds", "0"])]
    assert refused(amountOff="1", budget="0") == [("INVALID", ["input", "budget"])]

    page = gql.data(TEMPLATES, {"first": 2}, token=tenant.admin_token)["couponTemplates"]
    assert [e["node"]["id"] for e in page["edges"]] == [amount["id"], percent["id"]]
    rest = gql.data(TEMPLATES, {"first": 2, "after": page["pageInfo"]["endCursor"]},
                    token=tenant.admin_token)["couponTemplates"]
    assert [e["node"]["id"] for e in rest["edges"]] == [unit["id"]] and not rest["pageInfo"]["hasNextPage"]


def test_claims_are_idempotent_limited_and_end_when_the_template_does(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(perCustomerLimit=2, totalQuantity=3)
    (_, alice), (_, bob) = shop.customers(owner_db, 2)
    first = shop.claim(alice, template["id"], "k1")
    again = shop.claim(alice, template["id"], "k1")
    assert first["errors"] == [] and again["coupon"]["id"] == first["coupon"]["id"]
    assert first["coupon"]["status"] == "AVAILABLE"
    assert shop.claim(alice, template["id"], "k2")["errors"] == []
    assert _errors(shop.claim(alice, template["id"], "k3")) == [("COUPON_LIMIT_REACHED", ["templateId"])]
    assert shop.claim(bob, template["id"])["errors"] == []
    assert _errors(shop.claim(bob, template["id"])) == [("COUPON_EXHAUSTED", ["templateId"])]
    counts = owner_db.execute("SELECT claimed FROM coupon_template WHERE id = %s", (uid(template["id"]),)).fetchone()
    assert counts[0] == 3
    assert owner_db.execute("SELECT count(*) FROM coupon WHERE template_id = %s",
                            (uid(template["id"]),)).fetchone()[0] == 3

    other = shop.template()
    paused = gql.data(TEMPLATE_PAUSE, {"id": other["id"], "p": True}, token=tenant.admin_token)["couponTemplatePause"]
    assert paused["template"] == {"id": other["id"], "active": False, "paused": True}
    assert _errors(shop.claim(bob, other["id"])) == [("COUPON_EXPIRED", ["templateId"])]
    gql.data(TEMPLATE_PAUSE, {"id": other["id"], "p": False}, token=tenant.admin_token)
    held = shop.claim(bob, other["id"])["coupon"]
    ended = gql.data(TEMPLATE_END, {"id": other["id"]}, token=tenant.admin_token)["couponTemplateEnd"]
    assert ended["template"]["active"] is False and ended["template"]["endedAt"]
    assert _errors(shop.claim(alice, other["id"])) == [("COUPON_EXPIRED", ["templateId"])]
    # Ending never invalidates what was claimed, unless asked to.
    mine = gql.data(MY_COUPONS, {"usable": True}, token=bob)["myCoupons"]["edges"]
    assert held["id"] in [e["node"]["id"] for e in mine]
    gql.data(TEMPLATE_END, {"id": other["id"], "void": True}, token=tenant.admin_token)
    statuses = {e["node"]["id"]: e["node"]["status"] for e in gql.data(MY_COUPONS, {}, token=bob)["myCoupons"]["edges"]}
    assert statuses[held["id"]] == "EXPIRED"


def test_validity_days_after_claim_end(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(validDaysAfterClaim=3)
    ((_, alice),) = shop.customers(owner_db, 1)
    coupon = shop.claim(alice, template["id"])["coupon"]
    until = datetime.fromisoformat(coupon["validUntil"])
    assert timedelta(days=3) - timedelta(minutes=1) < until - datetime.now(UTC) <= timedelta(days=3)
    owner_db.execute("UPDATE coupon SET valid_until = statement_timestamp() - interval '1 second' "
                     "WHERE tenant_id = %s AND id = %s", (tenant.uuid, uid(coupon["id"])))
    assert gql.data(MY_COUPONS, {"usable": True}, token=alice)["myCoupons"]["edges"] == []
    assert [e["node"]["status"] for e in gql.data(MY_COUPONS, {}, token=alice)["myCoupons"]["edges"]] == ["EXPIRED"]
    refused = shop.place(alice, [(0, 1)], coupon["id"])
    assert _errors(refused) == [("COUPON_EXPIRED", ["input", "couponId"])]


def test_audiences_new_customers_and_group_members(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    (old_id, old), (new_id, new) = shop.customers(owner_db, 2)
    assert shop.place(old, [(0, 1)])["errors"] == []
    fresh = shop.template(audience="NEW_CUSTOMERS")
    assert _errors(shop.claim(old, fresh["id"])) == [("COUPON_NOT_APPLICABLE", ["templateId"])]
    assert shop.claim(new, fresh["id"])["errors"] == []
    group = uuid.uuid4()
    owner_db.execute("INSERT INTO community_group (tenant_id, id, leader_id, name, invite_code) "
                     "VALUES (%s, %s, %s, 'Block 7', %s)", (tenant.uuid, group, shop.world.leader_id, uuid.uuid4().hex[:8]))
    owner_db.execute("INSERT INTO group_member (tenant_id, group_id, user_id) VALUES (%s, %s, %s)",
                     (tenant.uuid, group, old_id))
    members = shop.template(audience="GROUP_MEMBERS", communityGroupIds=[global_id.encode("CommunityGroup", group)])
    assert _errors(shop.claim(new, members["id"])) == [("COUPON_NOT_APPLICABLE", ["templateId"])]
    assert shop.claim(old, members["id"])["errors"] == []
    # A grant to the group's members ignores the audience and the per-customer limit.
    granted = gql.data(GRANT, {"t": members["id"], "u": [user_gid(new_id)], "g": global_id.encode("CommunityGroup", group)},
                       token=tenant.admin_token)["couponGrant"]
    assert granted == {"granted": 2, "errors": []}
    assert len(gql.data(MY_COUPONS, {}, token=old)["myCoupons"]["edges"]) == 2


def test_grants_are_all_or_none_within_the_quantity(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(totalQuantity=2)
    people = shop.customers(owner_db, 3)
    gids = [user_gid(i) for i, _ in people]
    too_many = gql.data(GRANT, {"t": template["id"], "u": gids}, token=tenant.admin_token)["couponGrant"]
    assert (too_many["granted"], _errors(too_many)) == (0, [("COUPON_EXHAUSTED", ["templateId"])])
    unknown = gql.data(GRANT, {"t": template["id"], "u": [gids[0], user_gid(uuid.uuid4())]},
                       token=tenant.admin_token)["couponGrant"]
    assert _errors(unknown) == [("NOT_FOUND", ["userIds", "1"])]
    assert gql.data(GRANT, {"t": template["id"], "u": gids[:2]}, token=tenant.admin_token)["couponGrant"] == {
        "granted": 2, "errors": []}
    assert owner_db.execute("SELECT count(*) FROM coupon WHERE template_id = %s",
                            (uid(template["id"]),)).fetchone()[0] == 2


def test_an_order_takes_a_coupon_split_across_its_lines(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)  # 9.90, 3.30, 12.00
    template = shop.template(amountOff="10.00", threshold="30.00", budget="100.00")
    ((_, alice),) = shop.customers(owner_db, 1)
    coupon = shop.claim(alice, template["id"])["coupon"]
    below = shop.place(alice, [(0, 1), (1, 1)], coupon["id"])
    assert _errors(below) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])] and below["order"] is None
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == 0, "the refused order was rolled back"
    placed = shop.place(alice, [(0, 1), (1, 2), (2, 1)], coupon["id"])  # 9.90 + 6.60 + 12.00 = 28.50 ... below
    assert _errors(placed) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])]
    placed = shop.place(alice, [(0, 2), (1, 1), (2, 1)], coupon["id"])  # 19.80 + 3.30 + 12.00 = 35.10
    assert placed["errors"] == [], placed
    order = placed["order"]
    assert order["discount"] == {"amount": "10.00"} and order["coupon"] == {"id": coupon["id"], "status": "RESERVED"}
    shares = [Decimal(line["discount"]["amount"]) for line in order["lines"]]
    # 10.00 x 1980/3510 = 5.641, x 330/3510 = 0.940, x 1200/3510 = 3.418: floors 5.64 0.94 3.41, one fen left
    # goes to the largest remainder (3.418).
    assert shares == [Decimal("5.64"), Decimal("0.94"), Decimal("3.42")]
    total_minor = owner_db.execute("SELECT total_minor FROM customer_order WHERE id = %s",
                                   (uid(order["id"]),)).fetchone()[0]
    assert total_minor == 3510 - 1000
    again = shop.place(alice, [(0, 5)], coupon["id"])
    assert _errors(again) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])]
    # Paid: USED. The template counts it, and its discount against the budget.
    paid = gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "pay-1"}, token=tenant.api_key)["orderMarkPaid"]
    assert paid["errors"] == []
    assert gql.data(MY_COUPONS, {}, token=alice)["myCoupons"]["edges"][0]["node"]["status"] == "USED"
    template_now = gql.data(TEMPLATES, {}, token=tenant.admin_token)["couponTemplates"]["edges"][0]["node"]
    assert (template_now["used"], template_now["discountGiven"]["amount"]) == (1, "10.00")
    # Cancelled (before the cutoff): refunded what was paid, and the coupon comes back.
    cancelled = gql.data(ORDER_CANCEL, {"id": order["id"]}, token=alice)["orderCancel"]
    assert cancelled["order"]["refunded"] == {"amount": "25.10"}
    node = gql.data(MY_COUPONS, {}, token=alice)["myCoupons"]["edges"][0]["node"]
    assert (node["status"], node["order"]) == ("AVAILABLE", None)
    template_now = gql.data(TEMPLATES, {}, token=tenant.admin_token)["couponTemplates"]["edges"][0]["node"]
    assert (template_now["used"], template_now["discountGiven"]["amount"]) == (0, "0.00")
    assert shop.place(alice, [(0, 2), (2, 1)], coupon["id"])["errors"] == []


def test_percent_and_unit_coupons_and_scopes(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)  # 9.90, 3.30, 12.00
    ((_, alice),) = shop.customers(owner_db, 1)
    percent = shop.template(kind="PERCENT_OFF", amountOff=None, percentOff="15", maxDiscount="3.00",
                            offerIds=[shop.offer(0), shop.offer(1)])
    coupon = shop.claim(alice, percent["id"])["coupon"]
    order = shop.place(alice, [(0, 1), (2, 1)], coupon["id"])["order"]  # 15% of 9.90 = 1.485 -> 1.49
    assert order["discount"] == {"amount": "1.49"}
    assert [line["discount"]["amount"] for line in order["lines"]] == ["1.49", "0.00"]
    capped = shop.claim(alice, shop.template(kind="PERCENT_OFF", amountOff=None, percentOff="50",
                                             maxDiscount="3.00")["id"])["coupon"]
    assert shop.place(alice, [(2, 1)], capped["id"])["order"]["discount"] == {"amount": "3.00"}
    unit = shop.template(kind="UNIT_OFF", amountOff="20.00", offerIds=[shop.offer(2)])
    unit_coupon = shop.claim(alice, unit["id"])["coupon"]
    assert _errors(shop.place(alice, [(0, 1)], unit_coupon["id"])) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])]
    order = shop.place(alice, [(0, 1), (2, 3)], unit_coupon["id"])["order"]
    assert order["discount"] == {"amount": "12.00"}  # one unit, at most its price
    unknown = gql.data(TEMPLATE_CREATE, {"input": {"name": "x", "kind": "AMOUNT_OFF", "amountOff": "1",
                                                   "batchId": global_id.encode("Batch", uuid.uuid4())}},
                       token=tenant.admin_token)["couponTemplateCreate"]
    assert _errors(unknown) == [("NOT_FOUND", ["input", "batchId"])]
    # Scoped to another batch: nothing of this order is in scope.
    elsewhere = make_shop(gql, owner_db, tenant)
    scoped = shop.template(batchId=elsewhere.batch["id"])
    scoped_coupon = shop.claim(alice, scoped["id"])["coupon"]
    assert _errors(shop.place(alice, [(0, 1)], scoped_coupon["id"])) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])]


def test_available_coupons_for_a_batch_and_the_leader_sees_them(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    everywhere = shop.template(name="All")
    this_batch = shop.template(name="This batch", batchId=shop.batch["id"])
    ended = shop.template(name="Ended")
    gql.data(TEMPLATE_END, {"id": ended["id"]}, token=tenant.admin_token)
    seen = gql.data(AVAILABLE, {"b": shop.batch["id"]}, token=shop.world.leader_token)["availableCoupons"]
    assert [t["id"] for t in seen] == [everywhere["id"], this_batch["id"]]


def test_report_and_settings(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(amountOff="2.00", budget="50.00")
    (_, alice), (_, bob) = shop.customers(owner_db, 2)
    used = shop.claim(alice, template["id"])["coupon"]
    order = shop.place(alice, [(0, 1)], used["id"])["order"]
    gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": "r"}, token=tenant.api_key)
    late = shop.claim(bob, template["id"])["coupon"]
    owner_db.execute("UPDATE coupon SET valid_until = statement_timestamp() WHERE tenant_id = %s AND id = %s",
                     (tenant.uuid, uid(late["id"])))
    (row,) = gql.data(REPORT, token=tenant.admin_token)["couponReport"]
    assert row == {"template": {"id": template["id"], "name": "Coupon"}, "claimed": 2, "reserved": 0, "used": 1,
                   "expired": 1, "discountGiven": {"amount": "2.00"}, "discountUsed": {"amount": "2.00"},
                   "budget": {"amount": "50.00"}}
    settings = gql.data(SETTINGS_UPDATE, {"b": "COMMISSION_ON_LIST_PRICE"}, token=tenant.admin_token)
    assert settings["couponSettingsUpdate"]["settings"] == {"commissionBase": "COMMISSION_ON_LIST_PRICE",
                                                            "releaseOnRefund": True}


def test_a_whole_refund_keeps_the_coupon_used_where_the_tenant_says_so(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(amountOff="2.00", budget="50.00")
    (_, alice), (_, bob) = shop.customers(owner_db, 2)
    kept = gql.data(SETTINGS_UPDATE, {"r": False}, token=tenant.admin_token)["couponSettingsUpdate"]
    assert kept["settings"] == {"commissionBase": "COMMISSION_ON_PAID", "releaseOnRefund": False}
    orders = {}
    for token in (alice, bob):
        coupon = shop.claim(token, template["id"])["coupon"]
        order = shop.place(token, [(0, 1), (1, 1)], coupon["id"])["order"]
        assert gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": uuid.uuid4().hex},
                        token=tenant.api_key)["orderMarkPaid"]["errors"] == []
        orders[token] = (order, coupon)
    assert gql.data(BATCH_CLOSE, {"id": shop.batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []

    def refund_whole(token: str) -> None:
        order, _ = orders[token]
        refunded = gql.data(ORDER_REFUND, {"id": order["id"], "lines": [line["id"] for line in order["lines"]]},
                            token=tenant.admin_token)["orderRefund"]
        assert refunded["errors"] == [] and refunded["order"]["refunded"] == {"amount": "11.20"}, refunded

    def state(token: str) -> tuple[str, dict | None, int, str]:
        node = gql.data(MY_COUPONS, {}, token=token)["myCoupons"]["edges"][0]["node"]
        row = gql.data(TEMPLATES, {}, token=tenant.admin_token)["couponTemplates"]["edges"][0]["node"]
        return node["status"], node["order"], row["used"], row["discountGiven"]["amount"]

    refund_whole(alice)  # kept: still USED, still counted against the budget
    assert state(alice) == ("USED", {"id": orders[alice][0]["id"]}, 2, "4.00")
    next_batch = make_shop(gql, owner_db, tenant)
    assert _errors(next_batch.place(alice, [(0, 1)], orders[alice][1]["id"])) == [
        ("COUPON_NOT_APPLICABLE", ["input", "couponId"])]
    gql.data(SETTINGS_UPDATE, {"r": True}, token=tenant.admin_token)
    refund_whole(bob)  # released: AVAILABLE again, its discount back in the budget
    assert state(bob) == ("AVAILABLE", None, 1, "2.00")
    assert next_batch.place(bob, [(0, 1)], orders[bob][1]["id"])["errors"] == []


def test_a_spent_budget_hands_out_no_more_coupons_until_an_order_gives_some_back(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(amountOff="2.00", budget="2.00")
    (_, alice), (bob_id, bob) = shop.customers(owner_db, 2)
    coupon = shop.claim(alice, template["id"])["coupon"]
    order = shop.place(alice, [(0, 1)], coupon["id"])["order"]
    assert order["discount"] == {"amount": "2.00"}

    def offered() -> list[str]:
        return [t["id"] for t in gql.data(AVAILABLE, {"b": shop.batch["id"]}, token=bob)["availableCoupons"]]

    # Spent: a coupon claimed now could not be used, so none is handed out, and none is shown.
    assert _errors(shop.claim(bob, template["id"])) == [("COUPON_EXHAUSTED", ["templateId"])]
    granted = gql.data(GRANT, {"t": template["id"], "u": [user_gid(bob_id)]}, token=tenant.admin_token)["couponGrant"]
    assert (granted["granted"], _errors(granted)) == (0, [("COUPON_EXHAUSTED", ["templateId"])])
    assert template["id"] not in offered()
    node = gql.data(TEMPLATES, {}, token=tenant.admin_token)["couponTemplates"]["edges"][0]["node"]
    assert (node["active"], node["discountGiven"]["amount"]) == (False, "2.00")
    assert owner_db.execute("SELECT count(*) FROM coupon WHERE template_id = %s",
                            (uid(template["id"]),)).fetchone()[0] == 1
    # The order cancelled: its discount goes back, and claims open again.
    assert gql.data(ORDER_CANCEL, {"id": order["id"]}, token=alice)["orderCancel"]["errors"] == []
    assert template["id"] in offered()
    assert shop.claim(bob, template["id"])["errors"] == []


def test_a_voided_templates_coupon_given_back_by_its_order_is_expired(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(amountOff="2.00")
    (_, alice), (_, bob) = shop.customers(owner_db, 2)
    held = shop.claim(alice, template["id"])["coupon"]
    order = shop.place(alice, [(0, 1)], held["id"])["order"]
    paid_coupon = shop.claim(bob, template["id"])["coupon"]
    paid = shop.place(bob, [(0, 1)], paid_coupon["id"])["order"]
    gql.data(ORDER_MARK_PAID, {"id": paid["id"], "ref": uuid.uuid4().hex}, token=tenant.api_key)
    ended = gql.data(TEMPLATE_END, {"id": template["id"], "void": True}, token=tenant.admin_token)["couponTemplateEnd"]
    assert ended["errors"] == []
    # The orders holding them keep their discounts: one is paid at full discount, the other still can be.
    assert gql.data(ORDER_MARK_PAID, {"id": order["id"], "ref": uuid.uuid4().hex},
                    token=tenant.api_key)["orderMarkPaid"]["errors"] == []
    assert gql.data(MY_COUPONS, {}, token=alice)["myCoupons"]["edges"][0]["node"]["status"] == "USED"
    # Given back by a cancellation: voided, so expired, not usable again.
    for token, placed, coupon in ((alice, order, held), (bob, paid, paid_coupon)):
        assert gql.data(ORDER_CANCEL, {"id": placed["id"]}, token=token)["orderCancel"]["errors"] == []
        node = gql.data(MY_COUPONS, {}, token=token)["myCoupons"]["edges"][0]["node"]
        assert (node["status"], node["order"]) == ("EXPIRED", None)
        assert gql.data(MY_COUPONS, {"usable": True}, token=token)["myCoupons"]["edges"] == []
        assert _errors(shop.place(token, [(0, 1)], coupon["id"])) == [("COUPON_EXPIRED", ["input", "couponId"])]


def test_a_coupon_is_claimed_ahead_and_used_only_from_its_start(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    start = datetime.now(UTC) + timedelta(days=2)
    template = shop.template(validFrom=start.isoformat(), validUntil=(start + timedelta(days=5)).isoformat())
    ((_, alice),) = shop.customers(owner_db, 1)
    coupon = shop.claim(alice, template["id"])["coupon"]
    assert coupon["status"] == "AVAILABLE"
    assert gql.data(MY_COUPONS, {"usable": True}, token=alice)["myCoupons"]["edges"] == []
    early = shop.place(alice, [(0, 1)], coupon["id"])
    assert _errors(early) == [("COUPON_NOT_APPLICABLE", ["input", "couponId"])] and early["order"] is None
    owner_db.execute("UPDATE coupon SET valid_from = statement_timestamp() - interval '1 second' "
                     "WHERE tenant_id = %s AND id = %s", (tenant.uuid, uid(coupon["id"])))
    assert [e["node"]["id"] for e in gql.data(MY_COUPONS, {"usable": True}, token=alice)["myCoupons"]["edges"]] == [
        coupon["id"]]
    assert shop.place(alice, [(0, 1)], coupon["id"])["order"]["discount"] == {"amount": "5.00"}


GRANT_ONCE = """
mutation($t: ID!, $u: [ID!]!, $k: String) {
  couponGrant(templateId: $t, userIds: $u, idempotencyKey: $k) { granted errors { code field message } }
}"""


def test_a_grant_sent_again_with_its_key_grants_nothing_more(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(totalQuantity=10)
    gids = [user_gid(i) for i, _ in shop.customers(owner_db, 3)]

    def grant(users: list[str], key: str | None) -> dict:
        return dict(gql.data(GRANT_ONCE, {"t": template["id"], "u": users, "k": key},
                             token=tenant.admin_token)["couponGrant"])

    def issued() -> tuple[int, int]:
        return owner_db.execute("SELECT (SELECT count(*) FROM coupon c WHERE c.tenant_id = t.tenant_id "
                                "AND c.template_id = t.id), claimed FROM coupon_template t "
                                "WHERE t.tenant_id = %s AND t.id = %s", (tenant.uuid, uid(template["id"]))).fetchone()

    # Sent 8 times at once (a client retrying): granted once, each answer says so.
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: grant(gids, "welcome-2026"), range(8)))
    assert answers == [{"granted": 3, "errors": []}] * 8
    assert issued() == (3, 3)
    assert grant(gids[:1], "welcome-2026") == {"granted": 3, "errors": []}
    assert issued() == (3, 3)
    # Another key, or none, grants again; a bad key is refused.
    assert grant(gids[:2], "welcome-2027") == {"granted": 2, "errors": []}
    assert grant(gids[:1], None) == {"granted": 1, "errors": []}
    assert issued() == (6, 6)
    assert _errors(grant(gids, " ")) == [("INVALID", ["idempotencyKey"])]
    assert _errors(grant(gids, "k" * 191)) == [("INVALID", ["idempotencyKey"])]
