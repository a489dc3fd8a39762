"""A new-customer coupon is checked again when it is used: only on the customer's first order
(cancelled orders do not count), also when two first orders race, and the storefront says why."""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from typing import Any

from tests.coupon_fixtures import GRANT, ORDER_PLACE, make_shop, uid, user_gid
from tests.ordering_fixtures import ORDER_CANCEL

CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WHY = """
query { myCoupons(first: 10) { edges { node { id status usable unusableReason } } } }"""


def _place_input(shop: Any, coupon: str | None) -> dict:
    input: dict[str, Any] = {"batchId": shop.batch["id"], "pickupPointId": shop.world.point_gid,
                             "lines": [{"offerId": shop.offer(0), "quantity": 1}],
                             "idempotencyKey": uuid.uuid4().hex}
    if coupon:
        input["couponId"] = coupon
    return input


def test_a_new_customer_coupon_is_refused_after_a_first_order_without_it(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(audience="NEW_CUSTOMERS", amountOff="2.00")
    ((customer_id, token),) = shop.customers(owner_db, 1)
    coupon = shop.claim(token, template["id"])["coupon"]
    first = shop.place(token, [(0, 1)])
    assert first["errors"] == []
    # The storefront sees it can no longer be used, and why, in the reader's language.
    for lang, chinese in (("zh-CN", True), ("en", False)):
        (edge,) = gql.data(WHY, token=token, headers={"Accept-Language": lang})["myCoupons"]["edges"]
        node = edge["node"]
        assert (node["status"], node["usable"]) == ("AVAILABLE", False)
        assert node["unusableReason"] and bool(CJK.search(node["unusableReason"])) is chinese, node

    messages = {}
    for lang in ("zh-CN", "en"):
        refused = gql.data(ORDER_PLACE, {"input": _place_input(shop, coupon["id"])}, token=token,
                           headers={"Accept-Language": lang})["orderPlace"]
        assert refused["order"] is None
        ((code, field, message),) = [(e["code"], e["field"], e["message"]) for e in refused["errors"]]
        assert (code, field) == ("COUPON_NOT_APPLICABLE", ["input", "couponId"])
        messages[lang] = message
    assert CJK.search(messages["zh-CN"]) and "首单" in messages["zh-CN"]
    assert not CJK.search(messages["en"]) and "first order" in messages["en"]
    assert owner_db.execute("SELECT count(*), min(status) FROM customer_order WHERE customer_id = %s",
                            (customer_id,)).fetchone()[0] == 1, "the refused orders left nothing"
    assert owner_db.execute("SELECT status FROM coupon WHERE id = %s", (uid(coupon["id"]),)).fetchone()[0] == "AVAILABLE"

    # Cancelled orders do not count: with the first one cancelled, the next order is a first order.
    cancelled = gql.data(ORDER_CANCEL, {"id": first["order"]["id"]}, token=token)["orderCancel"]
    assert cancelled["errors"] == []
    (edge,) = gql.data(WHY, token=token)["myCoupons"]["edges"]
    assert (edge["node"]["usable"], edge["node"]["unusableReason"]) == (True, None)
    used = shop.place(token, [(0, 1)], coupon["id"])
    assert used["errors"] == [] and used["order"]["discount"] == {"amount": "2.00"}


def test_a_coupon_for_anyone_or_a_granted_one_still_applies_to_a_later_order(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    ((customer_id, token),) = shop.customers(owner_db, 1)
    coupon = shop.claim(token, shop.template(amountOff="2.00")["id"])["coupon"]
    assert shop.place(token, [(0, 1)])["errors"] == []
    (edge,) = gql.data(WHY, token=token)["myCoupons"]["edges"]
    assert (edge["node"]["usable"], edge["node"]["unusableReason"]) == (True, None)
    assert shop.place(token, [(0, 1)], coupon["id"])["errors"] == []
    # A grant chose its customer (as a pack's reward or compensation does): no first-order rule at use.
    fresh = shop.template(audience="NEW_CUSTOMERS", amountOff="1.00", name="Welcome back")
    granted = gql.data(GRANT, {"t": fresh["id"], "u": [user_gid(customer_id)]}, token=tenant.admin_token)
    assert granted["couponGrant"] == {"granted": 1, "errors": []}
    (gift,) = [e["node"] for e in gql.data(WHY, token=token)["myCoupons"]["edges"] if e["node"]["status"] == "AVAILABLE"]
    assert (gift["usable"], gift["unusableReason"]) == (True, None)
    used = shop.place(token, [(0, 1)], gift["id"])
    assert used["errors"] == [] and used["order"]["discount"] == {"amount": "1.00"}


def test_two_first_orders_at_once_with_two_new_customer_coupons_one_passes(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, stock=1000)
    first, second = (shop.template(audience="NEW_CUSTOMERS", amountOff="1.00", name=f"New {i}") for i in (1, 2))
    people = shop.customers(owner_db, 6)
    for round_, (customer_id, token) in enumerate(people):
        coupons = [shop.claim(token, t["id"])["coupon"]["id"] for t in (first, second)]
        start = threading.Barrier(2)
        results: list[dict] = []

        def place(coupon: str, token: str = token, start: threading.Barrier = start,
                  results: list[dict] = results) -> None:
            start.wait()  # two connections, released together
            results.append(gql.data(ORDER_PLACE, {"input": _place_input(shop, coupon)}, token=token)["orderPlace"])

        threads = [threading.Thread(target=place, args=(c,)) for c in coupons]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes = Counter(r["errors"][0]["code"] if r["errors"] else "OK" for r in results)
        assert outcomes == {"OK": 1, "COUPON_NOT_APPLICABLE": 1}, (round_, results)
        orders, discounted = owner_db.execute(
            "SELECT count(*), count(*) FILTER (WHERE coupon_id IS NOT NULL) FROM customer_order "
            "WHERE customer_id = %s", (customer_id,)).fetchone()
        assert (orders, discounted) == (1, 1), round_
