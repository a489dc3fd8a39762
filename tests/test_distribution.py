"""Two-level distribution: commissions = rate x goods value per level, rounded half-up once per
line; pending at the close, earned at pickup, reversed on refund; per-offer rates and fixed amounts;
and level 3 exists nowhere, whatever the share chain (a property test)."""

from __future__ import annotations

import secrets
import uuid
from decimal import ROUND_HALF_UP, Decimal

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import global_id
from tests.growth_fixtures import (
    ORDER_REFUND,
    close,
    commissions,
    enable_distribution,
    order_uuid,
    pick_up,
    place,
    share,
    user_uuid,
)
from tests.ordering_fixtures import (
    bulk_customers,
    create_batch,
    make_world,
    offer_input,
    open_batch_with_offers,
)

EARNINGS = """query { myDistributionEarnings { pending { amount } earned { amount } reversed { amount } }
  myDistributionCommissions(first: 10) { edges { node { level status amount { amount }
    reversedAmount { amount } goodsValue { amount } orderNumber beneficiaryName } } } }"""
OFFER_DISTRIBUTION = """
mutation($id: ID!, $input: OfferDistributionInput!) { offerDistributionSet(offerId: $id, input: $input) {
  offerId errors { code field message } } }"""
REPORT = """query($f: Date!, $t: Date!) { sharerReport(from: $f, to: $t) { csvUrl
  rows { sharerId name visits bindings orders gmv { amount } commission { amount } } } }"""


def per_line(rate: str, lines: list[tuple[int, int]]) -> int:
    """The rule: round_half_up(rate x quantity x unit price) per line, summed."""
    return sum(int((Decimal(rate) * q * p).quantize(Decimal(1), rounding=ROUND_HALF_UP)) for q, p in lines)


def _chain(gql, tenant, make_customer, world, batch, names):  # type: ignore[no-untyped-def]
    """Customers bound in a chain: names[1] -> names[0], names[2] -> names[1], ... (each by a first
    order with the previous one's code)."""
    people = [make_customer(tenant, n) for n in names]
    orders = {}
    for earlier, later in zip(people, people[1:], strict=False):
        code = share(gql, earlier.token, "BATCH", batch["id"])["share"]["code"]
        orders[later.user_id] = place(gql, world, batch, later, [(0, 3), (1, 1)], code=code)
    return people, orders


def test_commissions_are_rate_times_goods_per_level_rounded_per_line(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.05", "0.02")
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "3.33"), offer_input(world, 1, "12.90")])
    (a, b, c), orders = _chain(gql, tenant, make_customer, world, batch, ["Ann", "Ben", "Cai"])
    lines = [(3, 333), (1, 1290)]
    close(gql, tenant, batch)
    order_c = orders[c.user_id]
    # Per line, half-up: 49.95 -> 50 and 64.50 -> 65 (the order's 114.45 would round to 114).
    assert per_line("0.05", lines) == 115 and per_line("0.02", lines) == 46
    assert commissions(owner_db, order_c["id"]) == {1: (user_uuid(b.user_id), 115, "PENDING"),
                                                    2: (user_uuid(a.user_id), 46, "PENDING")}
    assert commissions(owner_db, orders[b.user_id]["id"]) == {1: (user_uuid(a.user_id), 115, "PENDING")}
    # Each order's total: its commission lines add up to its commission per level.
    assert owner_db.execute(
        "SELECT bool_and(c.amount_minor = (SELECT sum(l.amount_minor) FROM distribution_commission_line l "
        "WHERE l.tenant_id = c.tenant_id AND l.order_id = c.order_id AND l.level = c.level)) FROM distribution_commission c WHERE c.tenant_id = %s",
        (tenant.uuid,)).fetchone()[0] is True
    mine = gql.data(EARNINGS, token=b.token)
    assert mine["myDistributionEarnings"] == {"pending": {"amount": "1.15"}, "earned": {"amount": "0.00"},
                                              "reversed": {"amount": "0.00"}}
    (edge,) = mine["myDistributionCommissions"]["edges"]
    assert edge["node"] == {"level": 1, "status": "PENDING", "amount": {"amount": "1.15"},
                            "reversedAmount": {"amount": "0.00"}, "goodsValue": {"amount": "22.89"},
                            "orderNumber": order_c["number"], "beneficiaryName": "Ben"}
    # The buyer earns nothing on their own order; the leader's commission says level 0.
    assert gql.data(EARNINGS, token=c.token)["myDistributionEarnings"]["pending"] == {"amount": "0.00"}
    leader_view = gql.data("query { commissions(first: 5) { edges { node { level beneficiaryName } } } }",
                           token=world.leader_token)["commissions"]["edges"]
    assert {(e["node"]["level"], e["node"]["beneficiaryName"]) for e in leader_view} == {(0, "Leader")}

    # Pickup earns both levels; a refund of one line takes back exactly that line's part.
    pick_up(gql, world, batch, c, order_c)
    assert {k: v[2] for k, v in commissions(owner_db, order_c["id"]).items()} == {1: "EARNED", 2: "EARNED"}
    refunded = gql.data(ORDER_REFUND, {"id": order_c["id"], "lines": [order_c["lines"][0]["id"]]},
                        token=tenant.admin_token)["orderRefund"]
    assert refunded["errors"] == []
    assert commissions(owner_db, order_c["id"]) == {1: (user_uuid(b.user_id), 65, "REVERSED"),
                                                    2: (user_uuid(a.user_id), 26, "REVERSED")}
    assert owner_db.execute("SELECT level, reversed_minor FROM distribution_commission WHERE order_id = %s "
                            "ORDER BY level", (order_uuid(order_c["id"]),)).fetchall() == [(1, 50), (2, 20)]
    # A pending one just shrinks.
    order_b = orders[b.user_id]
    gql.data(ORDER_REFUND, {"id": order_b["id"], "lines": [order_b["lines"][1]["id"]]}, token=tenant.admin_token)
    assert commissions(owner_db, order_b["id"]) == {1: (user_uuid(a.user_id), 50, "PENDING")}
    # A period the report refuses: a clear error on the argument.
    refused = gql(REPORT, {"f": "2000-01-01", "t": "2099-12-31"}, token=tenant.admin_token)["errors"][0]
    assert refused["extensions"]["code"] == "INVALID" and refused["extensions"]["fields"] == [["to"]]

def test_the_sharer_report_counts_visits_bindings_orders_gmv_and_commission(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    from datetime import date, timedelta

    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.10", "0.00")
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "5.00")])
    (a, b, c), _ = _chain(gql, tenant, make_customer, world, batch, ["Ann", "Ben", "Cai"])
    close(gql, tenant, batch)
    today = date.today()
    report = gql.data(REPORT, {"f": (today - timedelta(days=1)).isoformat(), "t": (today + timedelta(days=1)).isoformat()},
                      token=tenant.admin_token)["sharerReport"]
    rows = {r["name"]: r for r in report["rows"]}
    # Ann: her link opened once (Ben's order), Ben bound, Ben's order: 35.00, 10 % = 3.50.
    assert rows["Ann"] == {"sharerId": a.user_id, "name": "Ann", "visits": 1, "bindings": 1, "orders": 1,
                           "gmv": {"amount": "35.00"}, "commission": {"amount": "3.50"}}
    assert rows["Ben"]["orders"] == 1 and rows["Ben"]["commission"] == {"amount": "3.50"}
    csv = httpx.get(report["csvUrl"])
    assert csv.status_code == 200 and csv.content.startswith("\ufeff".encode())
    text = csv.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "sharer,name,visits,bindings,orders,gmv,commission,currency"
    assert f"{a.user_id},Ann,1,1,1,35.00,3.50,CNY" in text
    assert httpx.get(report["csvUrl"].replace("signature=", "signature=0")).status_code == 403
    forbidden = gql(REPORT, {"f": today.isoformat(), "t": today.isoformat()}, token=a.token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    _ = c


def test_offer_rates_and_fixed_amounts_replace_the_tenants(gql, tenant, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.05", "0.02")
    batch = create_batch(gql, world, [offer_input(world, 0, "10.00", distributionLevel1Rate="0.10"),
                                      offer_input(world, 1, "4.00")])
    # offerUpdate changes the level-2 rate of offer 0 and keeps its level-1 rate.
    updated = gql.data("""mutation($id: ID!, $input: OfferUpdateInput!) { offerUpdate(id: $id, input: $input) {
        errors { code field } } }""", {"id": batch["offers"][0]["id"], "input": {"distributionLevel2Rate": "0.03"}},
                       token=tenant.admin_token)["offerUpdate"]
    assert updated["errors"] == []
    done = gql.data(OFFER_DISTRIBUTION, {"id": batch["offers"][1]["id"], "input": {"level1Amount": "0.25",
                                                                                   "level2Rate": "0.01"}},
                    token=tenant.admin_token)["offerDistributionSet"]
    assert done["errors"] == []
    for bad, field in (({"level1Rate": "0.2", "level2Rate": "0.2"}, ["input", "level2Rate"]),
                       ({"level1Amount": "-1"}, ["input", "level1Amount"]),
                       ({"level1Rate": "0.123456"}, ["input", "level1Rate"])):
        refused = gql.data(OFFER_DISTRIBUTION, {"id": batch["offers"][1]["id"], "input": bad},
                           token=tenant.admin_token)["offerDistributionSet"]
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [("INVALID", field)], bad
    other = make_tenant()
    foreign = gql.data(OFFER_DISTRIBUTION, {"id": batch["offers"][1]["id"], "input": {"level1Rate": "0.1"}},
                       token=other.admin_token)["offerDistributionSet"]
    assert [(e["code"], e["field"]) for e in foreign["errors"]] == [("NOT_FOUND", ["offerId"])]
    gql.data("mutation($id: ID!) { batchPublish(id: $id) { errors { code } } }", {"id": batch["id"]},
             token=tenant.admin_token)
    from tests.ordering_fixtures import open_batch_now

    assert open_batch_now(batch["id"], tenant)
    (a, b, c), orders = _chain(gql, tenant, make_customer, world, batch, ["A", "B", "C"])
    close(gql, tenant, batch)
    # Order lines: 3 x 10.00 and 1 x 4.00.
    level1 = per_line("0.10", [(3, 1000)]) + 25 * 1
    level2 = per_line("0.03", [(3, 1000)]) + per_line("0.01", [(1, 400)])
    assert (level1, level2) == (325, 94)
    assert commissions(owner_db, orders[c.user_id]["id"]) == {1: (user_uuid(b.user_id), level1, "PENDING"),
                                                              2: (user_uuid(a.user_id), level2, "PENDING")}


def test_nothing_is_paid_while_distribution_is_off_and_the_toggles_round_trip(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "1.00")])
    (_a, _b, c), orders = _chain(gql, tenant, make_customer, world, batch, ["A", "B", "C"])
    close(gql, tenant, batch)
    assert commissions(owner_db, orders[c.user_id]["id"]) == {}
    settings_update = """mutation($g: Boolean, $c: Boolean) { distributionSettingsUpdate(groupBuyOrders: $g,
        couponOrders: $c) { settings { groupBuyOrders couponOrders } errors { code } } }"""
    assert gql.data(settings_update, {"g": True}, token=tenant.admin_token)["distributionSettingsUpdate"][
        "settings"] == {"groupBuyOrders": True, "couponOrders": False}
    assert gql.data(settings_update, {"c": True, "g": False}, token=tenant.admin_token)[
        "distributionSettingsUpdate"]["settings"] == {"groupBuyOrders": False, "couponOrders": True}
    assert gql.data(settings_update, {"g": True}, token=c.token)["distributionSettingsUpdate"]["errors"] == [
        {"code": "FORBIDDEN"}]


def test_level_three_does_not_exist(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.10", "0.05")
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "1.00")])
    (a, b, c, d), orders = _chain(gql, tenant, make_customer, world, batch, ["A", "B", "C", "D"])
    close(gql, tenant, batch)
    paid = commissions(owner_db, orders[d.user_id]["id"])
    assert {k: v[0] for k, v in paid.items()} == {1: user_uuid(c.user_id), 2: user_uuid(b.user_id)}
    assert user_uuid(a.user_id) not in {v[0] for v in paid.values()}
    order_d, buyer = order_uuid(orders[d.user_id]["id"]), user_uuid(d.user_id)
    # No data path can store a third level, or pay the buyer.
    for statement, args in (
        ("INSERT INTO distribution_commission (tenant_id, id, order_id, batch_id, level, beneficiary_id, customer_id, "
         "currency, amount_minor, status) SELECT tenant_id, gen_random_uuid(), order_id, batch_id, 3, %s, "
         "customer_id, currency, 1, 'PENDING' FROM distribution_commission WHERE order_id = %s AND level = 1",
         (user_uuid(a.user_id), order_d)),
        ("UPDATE distribution_commission SET level = 3 WHERE order_id = %s AND level = 2", (order_d,)),
        ("UPDATE distribution_commission SET beneficiary_id = %s WHERE order_id = %s AND level = 1", (buyer, order_d)),
        ("UPDATE distribution_commission_line SET level = 3 WHERE order_id = %s", (order_d,)),
        ("INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id) "
         "VALUES (%s, %s, 3, %s, %s)", (tenant.uuid, order_d, user_uuid(a.user_id), buyer)),
    ):
        with pytest.raises((psycopg.errors.CheckViolation, psycopg.errors.ForeignKeyViolation)):
            owner_db.execute(statement, args)
    # Nor any setting or type of the API.
    from service.schema import sdl

    schema = sdl().lower()
    assert "level3" not in schema and "level_3" not in schema


@pytest.fixture(scope="module")
def chain_world(gql, platform_token, services):  # type: ignore[no-untyped-def]
    from tests.conftest import TENANT_CREATE, TenantHandle, sign_in, unique

    slug = unique("chains")
    email, password = f"admin@{slug}.example", "admin-password-1"
    payload = gql.data(TENANT_CREATE, {"input": {"slug": slug, "name": slug, "adminEmail": email,
                                                 "adminPassword": password}}, token=platform_token)["tenantCreate"]
    tid = payload["tenant"]["id"]
    tenant = TenantHandle(id=tid, uuid=global_id.decode(tid)[1], slug=slug, api_key=payload["apiKey"],
                          admin_email=email, admin_password=password,
                          admin_token=sign_in(gql, slug, email, password))
    with psycopg.connect(services.owner_url, autocommit=True) as conn:
        world = make_world(conn, tenant)
    enable_distribution(gql, tenant, "0.10", "0.05")
    return world


class _Customer:
    def __init__(self, user_id: uuid.UUID, token: str) -> None:
        self.user_id = global_id.encode("User", user_id)
        self.token = token


def _bound_at(owner_db, tenant_uuid, customer, order_gid):  # type: ignore[no-untyped-def]
    """Whom `customer` was bound to when the order was placed (an earlier order with a code may
    have bound them after the chain was first read)."""
    row = owner_db.execute(
        "SELECT b.referrer_id FROM referral_binding b, customer_order o WHERE b.tenant_id = %s "
        "AND o.tenant_id = b.tenant_id AND o.id = %s "
        "AND b.customer_id = %s AND b.bound_at <= o.created_at AND (b.superseded_at IS NULL OR b.superseded_at > "
        "o.created_at)", (tenant_uuid, order_uuid(order_gid), customer)).fetchone()
    return row[0] if row else None


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    size=st.integers(2, 6),
    binds=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), max_size=14),
    latest=st.booleans(),
    with_code=st.lists(st.one_of(st.none(), st.integers(0, 5)), min_size=6, max_size=6),
)
def test_any_share_chain_pays_at_most_two_distributors_never_the_buyer(  # type: ignore[no-untyped-def]
        gql, chain_world, owner_db, size, binds, latest, with_code):
    world = chain_world
    tenant = world.tenant
    owner_db.execute("UPDATE tenant SET referral_binding = %s WHERE id = %s",
                     ("LATEST" if latest else "FIRST", tenant.uuid))
    people = bulk_customers(owner_db, tenant, size)
    links = []
    for user_id, _ in people:
        code = secrets.token_urlsafe(12)
        link = owner_db.execute("INSERT INTO share_link (tenant_id, id, code, sharer_id, target, target_id) "
                                "VALUES (%s, gen_random_uuid(), %s, %s, 'BATCH', gen_random_uuid()) RETURNING id",
                                (tenant.uuid, code, user_id)).fetchone()[0]
        links.append((link, code))
    # Random binding attempts (self-referrals and cycles among them), through referral_bind().
    for i, j in binds:
        owner_db.execute("SELECT referral_bind(%s, %s, %s)", (tenant.uuid, people[i % size][0], links[j % size][0]))
    current = dict(owner_db.execute("SELECT customer_id, referrer_id FROM referral_binding WHERE tenant_id = %s "
                                    "AND superseded_at IS NULL AND customer_id = ANY(%s)",
                                    (tenant.uuid, [p[0] for p in people])).fetchall())
    for start in current:  # acyclic, never self
        seen, at = {start}, current.get(start)
        while at is not None:
            assert at not in seen, "a cycle of bindings"
            seen.add(at)
            at = current.get(at)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "9.99"), offer_input(world, 1, "1.01")])
    orders = []
    for k, (user_id, token) in enumerate(people):
        pick = with_code[k]
        code = links[pick % size][1] if pick is not None else None
        orders.append((user_id, code, place(gql, world, batch, _Customer(user_id, token), [(0, 1), (1, 2)],
                                            code=code)))
    close(gql, tenant, batch)
    after = dict(owner_db.execute("SELECT customer_id, referrer_id FROM referral_binding WHERE tenant_id = %s "
                                  "AND superseded_at IS NULL AND customer_id = ANY(%s)",
                                  (tenant.uuid, [p[0] for p in people])).fetchall())
    for buyer, code, order in orders:
        paid = commissions(owner_db, order["id"])
        assert set(paid) <= {1, 2} and len(paid) <= 2
        beneficiaries = [v[0] for v in paid.values()]
        assert buyer not in beneficiaries and len(set(beneficiaries)) == len(beneficiaries)
        assert 2 not in paid or 1 in paid
        if code is None:  # no code: the chain of the bindings in force when the order was placed
            level1 = _bound_at(owner_db, tenant.uuid, buyer, order["id"])
            level2 = _bound_at(owner_db, tenant.uuid, level1, order["id"]) if level1 is not None else None
            expected = {1: level1, 2: level2 if level2 != buyer else None}
            assert {k: v[0] for k, v in paid.items()} == {k: v for k, v in expected.items() if v is not None}
        else:  # with a code: the chain in force after the order's own binding
            level1 = after.get(buyer)
            if level1 is None:
                assert paid == {}
            else:
                assert paid[1][0] == level1
        for level, (_, amount, _) in paid.items():
            rate = "0.10" if level == 1 else "0.05"
            assert amount == per_line(rate, [(1, 999), (2, 101)])


# How an order is marked as a coupon's or a 拼团's (their own features' rows), inside a transaction
# that is rolled back; replica mode: the marks need no coupon or group behind them.
_MARKS = {
    "coupon": "UPDATE customer_order SET coupon_id = %(u1)s WHERE tenant_id = %(t)s AND id = %(o)s",
    "group_buy": "INSERT INTO group_buy_member (tenant_id, order_id, group_buy_id, offer_id, customer_id, hold_until) "
                 "SELECT tenant_id, id, %(u1)s, %(u2)s, customer_id, now() "
                 "FROM customer_order WHERE tenant_id = %(t)s AND id = %(o)s",
}


@pytest.mark.parametrize("mark, setting", [("coupon", "distribution_coupon_orders"),
                                           ("group_buy", "distribution_group_buy_orders")])
def test_coupon_and_group_buy_orders_earn_only_when_the_tenant_says_so(  # type: ignore[no-untyped-def]
        gql, tenant, make_customer, owner_db, services, mark, setting):
    """The close's query, run where an order is marked as a coupon's or a 拼团's, inside one
    transaction that is rolled back (no other connection ever sees the marks)."""
    import re

    from service.growth.distribution import _WRITE_PENDING_LINES

    world = make_world(owner_db, tenant)
    enable_distribution(gql, tenant, "0.10", "0.00")
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "1.00")])
    (_a, b, c), orders = _chain(gql, tenant, make_customer, world, batch, ["A", "B", "C"])
    query = re.sub(r"(?<!:):(t|b)\b", r"%(\1)s", str(_WRITE_PENDING_LINES))
    params = {"t": tenant.uuid, "b": global_id.decode_as(batch["id"], "Batch")}
    with psycopg.connect(services.owner_url) as conn:
        conn.execute("SET LOCAL session_replication_role = replica")
        conn.execute(_MARKS[mark], {"o": order_uuid(orders[c.user_id]["id"]), "t": tenant.uuid,
                                    "u1": uuid.uuid4(), "u2": uuid.uuid4()})
        earning = {}
        for allowed in (False, True):
            conn.execute(f"UPDATE tenant SET {setting} = %s WHERE id = %s", (allowed, tenant.uuid))
            earning[allowed] = {(r[0], r[1]) for r in conn.execute(query, params).fetchall() if r[4] > 0}
        conn.rollback()
    order_b, order_c = order_uuid(orders[b.user_id]["id"]), order_uuid(orders[c.user_id]["id"])
    assert earning[False] == {(order_b, 1)}  # the plain order still earns
    assert earning[True] == {(order_b, 1), (order_c, 1)}
