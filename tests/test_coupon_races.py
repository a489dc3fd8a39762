"""The coupon invariants under real concurrency: never past a quantity, a per-customer limit or
a money budget, and one coupon on one order, whatever the interleaving."""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from tests.conftest import GraphQLClient
from tests.coupon_fixtures import CLAIM, make_shop, uid
from tests.test_auth_processes import api_process


def _outcome(payload: dict) -> str:
    return payload["errors"][0]["code"] if payload["errors"] else "OK"


def test_300_customers_claim_50_coupons_over_two_processes(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(totalQuantity=50)
    customers = shop.customers(owner_db, 300)
    with api_process() as one, api_process() as two:
        clients = [GraphQLClient(one.base_url), GraphQLClient(two.base_url)]

        def claim(n: int) -> str:
            _, token = customers[n]
            body = clients[n % 2](CLAIM, {"t": template["id"], "k": uuid.uuid4().hex}, token=token)
            assert not body.get("errors"), body
            return _outcome(body["data"]["couponClaim"])

        with ThreadPoolExecutor(48) as pool:
            outcomes = Counter(pool.map(claim, range(300)))
    assert outcomes == {"OK": 50, "COUPON_EXHAUSTED": 250}, outcomes
    issued, claimed = owner_db.execute(
        "SELECT (SELECT count(*) FROM coupon WHERE template_id = t.id), claimed FROM coupon_template t "
        "WHERE id = %s", (uid(template["id"]),)).fetchone()
    assert (issued, claimed) == (50, 50)


def test_one_customer_claiming_20_times_at_once_gets_one(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    template = shop.template(perCustomerLimit=1)
    ((customer, token),) = shop.customers(owner_db, 1)

    def claim(_: int) -> str:
        return _outcome(gql.data(CLAIM, {"t": template["id"], "k": uuid.uuid4().hex}, token=token)["couponClaim"])

    with ThreadPoolExecutor(20) as pool:
        outcomes = Counter(pool.map(claim, range(20)))
    assert outcomes == {"OK": 1, "COUPON_LIMIT_REACHED": 19}, outcomes
    assert owner_db.execute("SELECT count(*) FROM coupon WHERE customer_id = %s", (customer,)).fetchone()[0] == 1
    # The same key 20 times at once: one coupon, the same for all.
    again = shop.template(perCustomerLimit=5)
    key = uuid.uuid4().hex
    with ThreadPoolExecutor(20) as pool:
        ids = set(pool.map(lambda _: gql.data(CLAIM, {"t": again["id"], "k": key}, token=token)
                           ["couponClaim"]["coupon"]["id"], range(20)))
    assert len(ids) == 1


def test_one_coupon_on_10_concurrent_orders_lands_on_one(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, stock=100)
    template = shop.template(amountOff="3.00")
    ((_, token),) = shop.customers(owner_db, 1)
    coupon = shop.claim(token, template["id"])["coupon"]

    def place(_: int) -> dict:
        return shop.place(token, [(0, 2)], coupon["id"])

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(place, range(10)))
    outcomes = Counter(_outcome(r) for r in results)
    assert outcomes == {"OK": 1, "COUPON_NOT_APPLICABLE": 9}, outcomes
    (placed,) = [r["order"] for r in results if r["order"]]
    assert placed["discount"] == {"amount": "3.00"}
    orders, sold, holder = owner_db.execute(
        "SELECT (SELECT count(*) FROM customer_order WHERE tenant_id = %s), "
        "(SELECT sum(sold) FROM offer_stock_slot WHERE offer_id = %s), "
        "(SELECT order_id FROM coupon WHERE id = %s)",
        (tenant.uuid, uid(shop.offer(0)), uid(coupon["id"]))).fetchone()
    assert (orders, sold, holder) == (1, 2, uid(placed["id"])), "the refused orders left nothing behind"


def test_a_100_yuan_budget_is_never_passed_by_a_fen(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant, prices=("9.90", "3.30", "12.00"), stock=10_000)
    # 30% off, no cap: discounts of 0.99 to 13.86 per order, so the last one that fits is a matter of order.
    template = shop.template(kind="PERCENT_OFF", amountOff=None, percentOff="30", budget="100.00")
    customers = shop.customers(owner_db, 60)
    coupons = [shop.claim(token, template["id"])["coupon"]["id"] for _, token in customers]

    def place(n: int) -> dict:
        _, token = customers[n]
        lines = [(n % 3, 1 + n % 4)] + ([((n + 1) % 3, 1)] if n % 2 else [])
        return shop.place(token, lines, coupons[n])

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(place, range(60)))
    outcomes = Counter(_outcome(r) for r in results)
    assert set(outcomes) == {"OK", "COUPON_EXHAUSTED"}, outcomes
    given = sum(Decimal(r["order"]["discount"]["amount"]) for r in results if r["order"])
    counter, budget = owner_db.execute("SELECT discount_given_minor, budget_minor FROM coupon_template WHERE id = %s",
                                       (uid(template["id"]),)).fetchone()
    assert given * 100 == counter <= budget == 10_000
    # The refused ones held nothing: their coupons are still AVAILABLE, their orders never were.
    statuses = Counter(s for (s,) in owner_db.execute(
        "SELECT status FROM coupon WHERE template_id = %s", (uid(template["id"]),)).fetchall())
    assert statuses == {"RESERVED": outcomes["OK"], "AVAILABLE": outcomes["COUPON_EXHAUSTED"]}
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == outcomes["OK"]
