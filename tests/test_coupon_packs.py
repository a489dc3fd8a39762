"""Coupon packs (券包), share-to-get: a friend's first order through a sharer's pack code gives both
their coupons once it is paid; once per friend, never for the sharer's own orders, nothing for an
order cancelled unpaid, and never past a template's limits."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

from service.orders.expiry import expire_tenant_orders
from tests.conftest import GraphQLClient
from tests.coupon_fixtures import MY_COUPONS, Shop, make_shop, uid
from tests.growth_fixtures import close, pick_up
from tests.ordering_fixtures import ORDER_CANCEL, ORDER_MARK_PAID, run_domain
from tests.test_auth_processes import api_process

PACK_CREATE = """
mutation($input: CouponPackInput!) {
  couponPackCreate(input: $input) {
    pack { id name active friendTemplates { id } sharerTemplates { id } } errors { code field message }
  }
}"""
PACK_END = "mutation($id: ID!) { couponPackEnd(id: $id) { pack { id active endedAt } errors { code field } } }"
PACK_SHARE = """
mutation($p: ID!) { couponPackShare(packId: $p) {
  share { code target targetId url } errors { code field message } } }"""
PACKS = "query($a: Boolean) { couponPacks(active: $a) { totalCount edges { node { id name active } } } }"
REWARDS = """
query { myCouponPackRewards(first: 100) { totalCount edges { node {
  id status friendName friendCoupons sharerCoupons settledAt pack { id } earned { id status template { id } }
} } } }"""
EARNINGS = "query { myCouponPackEarnings { pending rewarded coupons } }"
NODE = "query($id: ID!) { node(id: $id) { id ... on CouponPackReward { status } ... on CouponPack { name } } }"


class Packs:
    def __init__(self, gql: GraphQLClient, shop: Shop, **sharer_template: Any) -> None:
        self.gql, self.shop = gql, shop
        self.friend_template = shop.template(name="新人券", amountOff="3.00")
        self.sharer_template = shop.template(name="邀请奖励", amountOff="2.00", **sharer_template)
        payload = gql.data(PACK_CREATE, {"input": {
            "name": "邀请有礼", "friendTemplateIds": [self.friend_template["id"]],
            "sharerTemplateIds": [self.sharer_template["id"]]}}, token=shop.tenant.admin_token)["couponPackCreate"]
        assert payload["errors"] == [], payload
        self.pack = payload["pack"]

    def code(self, token: str) -> str:
        payload = self.gql.data(PACK_SHARE, {"p": self.pack["id"]}, token=token)["couponPackShare"]
        assert payload["errors"] == [], payload
        return str(payload["share"]["code"])

    def order(self, token: str, code: str | None, client: GraphQLClient | None = None) -> dict:
        input: dict[str, Any] = {
            "batchId": self.shop.batch["id"], "pickupPointId": self.shop.world.point_gid,
            "lines": [{"offerId": self.shop.offer(0), "quantity": 1}], "idempotencyKey": uuid.uuid4().hex}
        if code is not None:
            input["shareCode"] = code
        placed = (client or self.gql).data(
            "mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id status } "
            "errors { code field message } } }", {"input": input}, token=token)["orderPlace"]
        assert placed["errors"] == [], placed
        return dict(placed["order"])

    def pay(self, order: dict, client: GraphQLClient | None = None) -> None:
        paid = (client or self.gql).data(ORDER_MARK_PAID, {"id": order["id"], "ref": uuid.uuid4().hex},
                                         token=self.shop.tenant.api_key)["orderMarkPaid"]
        assert paid["errors"] == [], paid

    def coupons(self, token: str) -> Counter[str]:
        edges = self.gql.data(MY_COUPONS, {"first": 100}, token=token)["myCoupons"]["edges"]
        return Counter(e["node"]["template"]["id"] for e in edges)

    def rewards(self, token: str) -> list[dict]:
        return [e["node"] for e in self.gql.data(REWARDS, token=token)["myCouponPackRewards"]["edges"]]


def test_a_friends_first_paid_order_rewards_both_once(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop)
    (sharer, sharer_token), (_, friend_token) = shop.customers(owner_db, 2)
    code = packs.code(sharer_token)
    assert code == packs.code(sharer_token), "sharing again gives the same link"
    share = gql.data(PACK_SHARE, {"p": packs.pack["id"]}, token=sharer_token)["couponPackShare"]["share"]
    assert share["target"] == "COUPON_PACK" and share["targetId"] == packs.pack["id"]
    assert f"share={code}" in share["url"]

    first = packs.order(friend_token, code)
    assert first["status"] == "PENDING_PAYMENT"
    (pending,) = packs.rewards(sharer_token)
    assert (pending["status"], pending["friendCoupons"], pending["sharerCoupons"]) == ("PENDING", 0, 0)
    assert pending["friendName"].endswith("*") and pending["pack"]["id"] == packs.pack["id"]
    assert packs.coupons(friend_token) == {} and packs.coupons(sharer_token) == {}, "nothing before payment"

    packs.pay(first)
    (granted,) = packs.rewards(sharer_token)
    assert (granted["status"], granted["friendCoupons"], granted["sharerCoupons"]) == ("GRANTED", 1, 1)
    assert granted["settledAt"] is not None
    assert [c["template"]["id"] for c in granted["earned"]] == [packs.sharer_template["id"]]
    assert granted["earned"][0]["status"] == "AVAILABLE"
    assert packs.coupons(friend_token) == {packs.friend_template["id"]: 1}
    assert packs.coupons(sharer_token) == {packs.sharer_template["id"]: 1}
    assert gql.data(EARNINGS, token=sharer_token)["myCouponPackEarnings"] == {
        "pending": 0, "rewarded": 1, "coupons": 1}
    assert gql.data(NODE, {"id": granted["id"]}, token=sharer_token)["node"]["status"] == "GRANTED"
    assert gql.data(NODE, {"id": granted["id"]}, token=friend_token)["node"] is None, "only the sharer's"

    # The friend's second order through the code is not a first order: nothing more.
    packs.pay(packs.order(friend_token, code))
    assert len(packs.rewards(sharer_token)) == 1
    assert packs.coupons(friend_token) == {packs.friend_template["id"]: 1}
    assert packs.coupons(sharer_token) == {packs.sharer_template["id"]: 1}
    counts = owner_db.execute("SELECT claimed FROM coupon_template WHERE id = ANY(%s) ORDER BY name",
                              ([uid(packs.friend_template["id"]), uid(packs.sharer_template["id"])],)).fetchall()
    assert counts == [(1,), (1,)]
    assert owner_db.execute("SELECT count(*) FROM coupon_pack_referral WHERE sharer_id = %s",
                            (sharer,)).fetchone()[0] == 1


def test_cancelled_unpaid_grants_nothing_and_a_later_first_order_counts(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop)
    (_, sharer_token), (_, friend_token) = shop.customers(owner_db, 2)
    code = packs.code(sharer_token)
    first = packs.order(friend_token, code)
    cancelled = gql.data(ORDER_CANCEL, {"id": first["id"]}, token=friend_token)["orderCancel"]
    assert cancelled["errors"] == [], cancelled
    (reward,) = packs.rewards(sharer_token)
    assert (reward["status"], reward["friendCoupons"], reward["sharerCoupons"]) == ("CANCELLED", 0, 0)
    assert packs.coupons(friend_token) == {} and packs.coupons(sharer_token) == {}
    # A cancelled order was never bought: the next one through the code is the friend's first.
    packs.pay(packs.order(friend_token, code))
    assert Counter(r["status"] for r in packs.rewards(sharer_token)) == {"CANCELLED": 1, "GRANTED": 1}
    assert packs.coupons(sharer_token) == {packs.sharer_template["id"]: 1}


def test_no_self_referral_and_no_reward_for_a_customer_who_ordered_before(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop)
    (_, sharer_token), (_, old_token) = shop.customers(owner_db, 2)
    code = packs.code(sharer_token)
    packs.pay(packs.order(sharer_token, code))
    packs.pay(packs.order(old_token, None))
    packs.pay(packs.order(old_token, code))
    assert packs.rewards(sharer_token) == []
    assert packs.coupons(sharer_token) == {} and packs.coupons(old_token) == {}


def test_rewards_stay_within_limits_and_an_ended_pack_notes_no_more(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop, perCustomerLimit=2)
    (_, sharer_token), *friends = shop.customers(owner_db, 5)
    code = packs.code(sharer_token)
    for _, token in friends[:3]:
        packs.pay(packs.order(token, code))
    rewards = packs.rewards(sharer_token)
    assert [(r["status"], r["friendCoupons"], r["sharerCoupons"]) for r in rewards] == [
        ("GRANTED", 1, 1), ("GRANTED", 1, 1), ("GRANTED", 1, 0)], "the sharer's limit is 2"
    assert packs.coupons(sharer_token) == {packs.sharer_template["id"]: 2}
    assert gql.data(EARNINGS, token=sharer_token)["myCouponPackEarnings"] == {
        "pending": 0, "rewarded": 3, "coupons": 2}

    ended = gql.data(PACK_END, {"id": packs.pack["id"]}, token=tenant.admin_token)["couponPackEnd"]
    assert ended["errors"] == [] and ended["pack"]["active"] is False
    packs.pay(packs.order(friends[3][1], code))
    assert len(packs.rewards(sharer_token)) == 3, "an ended pack notes no new reward"
    refused = gql.data(PACK_SHARE, {"p": packs.pack["id"]}, token=friends[3][1])["couponPackShare"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("NOT_FOUND", ["packId"])]
    listed = gql.data(PACKS, {"a": False}, token=sharer_token)["couponPacks"]
    assert listed["totalCount"] == 1 and listed["edges"][0]["node"]["id"] == packs.pack["id"]
    assert gql.data(PACKS, {"a": True}, token=sharer_token)["couponPacks"]["totalCount"] == 0


def test_pack_create_refuses_bad_templates(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template()
    payload = gql.data(PACK_CREATE, {"input": {"name": "", "friendTemplateIds": [template["id"], template["id"]],
                                               "sharerTemplateIds": []}},
                       token=tenant.admin_token)["couponPackCreate"]
    assert payload["pack"] is None
    assert sorted((e["code"], tuple(e["field"])) for e in payload["errors"]) == [
        ("INVALID", ("input", "friendTemplateIds", "1")), ("INVALID", ("input", "name")),
        ("INVALID", ("input", "sharerTemplateIds"))]
    assert owner_db.execute("SELECT count(*) FROM coupon_pack WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[0] == 0


def test_one_friends_concurrent_first_orders_reward_once_over_http(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    """10 orders of one new friend through the code at once, then all paid at once, over two server
    processes: one reward, one coupon each."""
    shop = make_shop(gql, owner_db, tenant, stock=1000)
    packs = Packs(gql, shop, perCustomerLimit=100)
    (_, sharer_token), (friend, friend_token) = shop.customers(owner_db, 2)
    code = packs.code(sharer_token)
    with api_process() as one, api_process() as two:
        clients = [GraphQLClient(one.base_url), GraphQLClient(two.base_url)]
        with ThreadPoolExecutor(10) as pool:
            orders = list(pool.map(lambda n: packs.order(friend_token, code, clients[n % 2]), range(10)))
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(lambda n: packs.pay(orders[n], clients[n % 2]), range(10)))
    statuses = Counter(r["status"] for r in packs.rewards(sharer_token))
    assert statuses["GRANTED"] == 1 and set(statuses) <= {"GRANTED", "NOT_FIRST"}, statuses
    assert packs.coupons(friend_token) == {packs.friend_template["id"]: 1}
    assert packs.coupons(sharer_token) == {packs.sharer_template["id"]: 1}
    assert owner_db.execute("SELECT count(*) FROM coupon WHERE customer_id = %s", (friend,)).fetchone()[0] == 1


def test_40_friends_at_once_never_pass_a_templates_quantity_over_http(  # type: ignore[no-untyped-def]
        gql, tenant, owner_db):
    """40 new friends order and pay through one code at once, over two processes; the sharer's
    template holds 25 coupons, the friends' 30: exactly 25 and 30 are issued, never more."""
    shop = make_shop(gql, owner_db, tenant, stock=1000)
    packs = Packs(gql, shop, perCustomerLimit=100, totalQuantity=25)
    gql.data("mutation($id: ID!) { couponTemplateEnd(id: $id) { errors { code } } }",
             {"id": packs.friend_template["id"]}, token=tenant.admin_token)  # ended: it gives nothing
    friend_template = shop.template(name="新人券2", amountOff="1.00", totalQuantity=30)
    owner_db.execute("UPDATE coupon_pack SET friend_template_ids = ARRAY[%s]::uuid[] WHERE id = %s",
                     (uid(friend_template["id"]), uid(packs.pack["id"])))
    (_, sharer_token), *friends = shop.customers(owner_db, 41)
    code = packs.code(sharer_token)
    with api_process() as one, api_process() as two:
        clients = [GraphQLClient(one.base_url), GraphQLClient(two.base_url)]

        def buy(n: int) -> None:
            packs.pay(packs.order(friends[n][1], code, clients[n % 2]), clients[(n + 1) % 2])

        with ThreadPoolExecutor(20) as pool:
            list(pool.map(buy, range(40)))
    rewards = packs.rewards(sharer_token)
    assert Counter(r["status"] for r in rewards) == {"GRANTED": 40}
    assert sum(r["sharerCoupons"] for r in rewards) == 25 and sum(r["friendCoupons"] for r in rewards) == 30
    issued = dict(owner_db.execute(
        "SELECT t.id, (SELECT count(*) FROM coupon c WHERE c.tenant_id = t.tenant_id AND c.template_id = t.id) "
        "FROM coupon_template t WHERE t.tenant_id = %s AND t.id = ANY(%s)",
        (tenant.uuid, [uid(packs.sharer_template["id"]), uid(friend_template["id"])])).fetchall())
    assert issued == {uid(packs.sharer_template["id"]): 25, uid(friend_template["id"]): 30}
    claimed = dict(owner_db.execute("SELECT id, claimed FROM coupon_template WHERE id = ANY(%s)",
                                    ([uid(packs.sharer_template["id"]), uid(friend_template["id"])],)).fetchall())
    assert claimed == issued


def test_an_order_expired_unpaid_grants_nothing(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop)
    (_, sharer_token), (_, friend_token) = shop.customers(owner_db, 2)
    order = packs.order(friend_token, packs.code(sharer_token))
    (created,) = owner_db.execute("SELECT created_at FROM customer_order WHERE tenant_id = %s AND id = %s",
                                  (tenant.uuid, uid(order["id"]))).fetchone()
    owner_db.execute("UPDATE customer_order SET created_at = %s WHERE tenant_id = %s AND id = %s",
                     (created - timedelta(days=1), tenant.uuid, uid(order["id"])))
    run_domain(lambda engine: expire_tenant_orders(tenant.uuid, 60, engine=engine))
    (reward,) = packs.rewards(sharer_token)
    assert (reward["status"], reward["friendCoupons"], reward["sharerCoupons"]) == ("CANCELLED", 0, 0)
    assert packs.coupons(friend_token) == {} and packs.coupons(sharer_token) == {}


def test_paid_at_pickup_the_reward_comes_at_pickup(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    shop = make_shop(gql, owner_db, tenant, stock=100)
    packs = Packs(gql, shop)
    (_, sharer_token), (_, friend_token) = shop.customers(owner_db, 2)
    order = packs.order(friend_token, packs.code(sharer_token))
    assert order["status"] == "PLACED"
    close(gql, tenant, shop.batch)
    assert [r["status"] for r in packs.rewards(sharer_token)] == ["PENDING"], "placed is not paid"
    pick_up(gql, shop.world, shop.batch, SimpleNamespace(token=friend_token), order)
    (reward,) = packs.rewards(sharer_token)
    assert (reward["status"], reward["friendCoupons"], reward["sharerCoupons"]) == ("GRANTED", 1, 1)
