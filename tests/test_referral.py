"""Referral attribution: visits, bindings (FIRST / LATEST, no self-referral, no cycles, the
attribution window ending), and the referrer chain an order keeps whatever happens later."""

from __future__ import annotations

from service import global_id
from tests.growth_fixtures import (
    ORDER_PLACE,
    SHARE_VISIT,
    TENANT_UPDATE,
    close,
    commissions,
    enable_distribution,
    order_uuid,
    place,
    share,
    user_uuid,
)
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers, place_input

REFERRALS = """query { myReferrals(first: 10) { edges { node { id customerName level boundAt orders
  gmv { amount } commission { amount } } cursor } pageInfo { hasNextPage endCursor } } }"""


def _binding(owner_db, customer):  # type: ignore[no-untyped-def]
    row = owner_db.execute("SELECT referrer_id FROM referral_binding WHERE customer_id = %s AND superseded_at IS NULL",
                           (user_uuid(customer.user_id),)).fetchone()
    return row[0] if row else None


def _chain(owner_db, order):  # type: ignore[no-untyped-def]
    return dict(owner_db.execute("SELECT level, referrer_id FROM order_referral WHERE order_id = %s",
                                 (order_uuid(order["id"]),)).fetchall())


def _registered(owner_db, customer, ago: str) -> None:  # type: ignore[no-untyped-def]
    """The customer registered `ago` (the moment read first: Citus refuses a volatile function in an UPDATE)."""
    at = owner_db.execute(f"SELECT clock_timestamp() - interval '{ago}'").fetchone()[0]
    owner_db.execute("UPDATE app_user SET created_at = %s WHERE id = %s", (at, user_uuid(customer.user_id)))


def _setup(gql, owner_db, tenant):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "3.33")])
    return world, batch


def test_a_first_order_with_a_code_binds_and_snapshots_two_levels(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    a, b, c = (make_customer(tenant, n) for n in ("Alice", "Bob", "陈晨"))
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    order_b = place(gql, world, batch, b, [(0, 1)], code=code_a)
    assert _binding(owner_db, b) == user_uuid(a.user_id)
    assert _chain(owner_db, order_b) == {1: user_uuid(a.user_id)}
    code_b = share(gql, b.token, "OFFER", batch["offers"][0]["id"])["share"]["code"]
    order_c = place(gql, world, batch, c, [(0, 2)], code=code_b)
    assert _chain(owner_db, order_c) == {1: user_uuid(b.user_id), 2: user_uuid(a.user_id)}
    # The order's visit is recorded with its customer and the order.
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE order_id = %s AND visitor_id = %s",
                            (order_uuid(order_c["id"]), user_uuid(c.user_id))).fetchone()[0] == 1
    # Alice sees Bob (level 1) and 陈晨 (level 2), masked.
    edges = gql.data(REFERRALS, token=a.token)["myReferrals"]["edges"]
    assert [(e["node"]["customerName"], e["node"]["level"]) for e in edges] == [("B**", 1), ("陈**", 2)]
    assert gql.data("query($id: ID!) { node(id: $id) { ... on Referral { level } } }",
                    {"id": edges[1]["node"]["id"]}, token=a.token)["node"] == {"level": 2}
    assert gql.data("query($id: ID!) { node(id: $id) { id } }", {"id": edges[1]["node"]["id"]},
                    token=c.token)["node"] is None
    # Paging: one at a time.
    first = gql.data("query { myReferrals(first: 1) { edges { node { level } } pageInfo { hasNextPage endCursor } } }",
                     token=a.token)["myReferrals"]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = gql.data("query($a: String) { myReferrals(first: 1, after: $a) { edges { node { level } } "
                    "pageInfo { hasNextPage } } }", {"a": first["pageInfo"]["endCursor"]}, token=a.token)["myReferrals"]
    assert [e["node"]["level"] for e in rest["edges"]] == [2] and rest["pageInfo"]["hasNextPage"] is False


def test_no_self_referral_and_no_cycles(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    a, b, c = (make_customer(tenant) for _ in range(3))
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    own = place(gql, world, batch, a, [(0, 1)], code=code_a)  # a's own code: nothing
    assert _binding(owner_db, a) is None and _chain(owner_db, own) == {}
    place(gql, world, batch, b, [(0, 1)], code=code_a)  # b -> a
    code_b = share(gql, b.token, "BATCH", batch["id"])["share"]["code"]
    place(gql, world, batch, c, [(0, 1)], code=code_b)  # c -> b -> a
    code_c = share(gql, c.token, "BATCH", batch["id"])["share"]["code"]
    # a is new (registered within the window): binding a to c would close a -> c -> b -> a.
    visit = gql.data(SHARE_VISIT, {"c": code_c}, token=a.token)["shareVisit"]
    assert visit["errors"] == []
    assert _binding(owner_db, a) is None
    gql.data(TENANT_UPDATE, {"input": {"referralBinding": "LATEST"}}, token=tenant.admin_token)
    gql.data(SHARE_VISIT, {"c": code_c}, token=a.token)
    gql.data(SHARE_VISIT, {"c": code_c}, token=b.token)  # b -> c would close b -> c -> b
    assert _binding(owner_db, a) is None and _binding(owner_db, b) == user_uuid(a.user_id)
    # The database refuses a self-binding whatever the code does.
    import psycopg
    import pytest

    with pytest.raises(psycopg.errors.CheckViolation):
        owner_db.execute("INSERT INTO referral_binding (tenant_id, id, customer_id, referrer_id, share_link_id) "
                         "SELECT tenant_id, gen_random_uuid(), sharer_id, sharer_id, id FROM share_link WHERE code = %s",
                         (code_a,))


def test_first_keeps_the_first_referrer_latest_takes_over_and_orders_keep_theirs(  # type: ignore[no-untyped-def]
        gql, tenant, make_customer, owner_db):
    world, batch = _setup(gql, owner_db, tenant)
    enable_distribution(gql, tenant, "0.10", "0.00")
    a, b, c = (make_customer(tenant) for _ in range(3))
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    code_b = share(gql, b.token, "BATCH", batch["id"])["share"]["code"]
    first = place(gql, world, batch, c, [(0, 1)], code=code_a)
    assert _binding(owner_db, c) == user_uuid(a.user_id)
    # FIRST (the default): b's link changes nothing, by visit or by order.
    gql.data(SHARE_VISIT, {"c": code_b}, token=c.token)
    second = place(gql, world, batch, c, [(1, 1)], code=code_b)
    assert _binding(owner_db, c) == user_uuid(a.user_id) and _chain(owner_db, second) == {1: user_uuid(a.user_id)}
    # LATEST: b's link takes over, from now on.
    gql.data(TENANT_UPDATE, {"input": {"referralBinding": "LATEST"}}, token=tenant.admin_token)
    gql.data(SHARE_VISIT, {"c": code_b}, token=c.token)
    assert _binding(owner_db, c) == user_uuid(b.user_id)
    # An order without a code after the rebind is b's (the binding in force when it was placed).
    third = place(gql, world, batch, c, [(0, 1)])
    assert _chain(owner_db, third) == {}
    close(gql, tenant, batch)
    assert commissions(owner_db, first["id"]) == {1: (user_uuid(a.user_id), 100, "PENDING")}
    assert commissions(owner_db, second["id"])[1][0] == user_uuid(a.user_id)
    assert commissions(owner_db, third["id"]) == {1: (user_uuid(b.user_id), 100, "PENDING")}
    # The history is kept: c's first binding is closed, not deleted.
    assert owner_db.execute("SELECT count(*), count(superseded_at) FROM referral_binding WHERE customer_id = %s",
                            (user_uuid(c.user_id),)).fetchone() == (2, 1)


def test_an_order_before_any_binding_earns_no_one(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    enable_distribution(gql, tenant)
    a, b = make_customer(tenant), make_customer(tenant)
    early = place(gql, world, batch, b, [(0, 1)])  # placed before b was bound
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    gql.data(SHARE_VISIT, {"c": code_a}, token=b.token)  # b registered just now: bound
    assert _binding(owner_db, b) == user_uuid(a.user_id)
    later = place(gql, world, batch, b, [(0, 1)])
    close(gql, tenant, batch)
    assert commissions(owner_db, early["id"]) == {}
    assert set(commissions(owner_db, later["id"])) == {1}


def test_the_attribution_window_ends(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    gql.data(TENANT_UPDATE, {"input": {"attributionWindowDays": 1}}, token=tenant.admin_token)
    a = make_customer(tenant)
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    inside, outside = make_customer(tenant), make_customer(tenant)
    _registered(owner_db, inside, "23 hours")
    _registered(owner_db, outside, "25 hours")
    for customer in (inside, outside):
        assert gql.data(SHARE_VISIT, {"c": code_a}, token=customer.token)["shareVisit"]["errors"] == []
    assert _binding(owner_db, inside) == user_uuid(a.user_id)
    assert _binding(owner_db, outside) is None
    # Outside the window, an order that is not the first does not bind either; the first one does.
    place(gql, world, batch, outside, [(0, 1)])
    not_first = place(gql, world, batch, outside, [(0, 1)], code=code_a)
    assert _binding(owner_db, outside) is None and _chain(owner_db, not_first) == {}
    late = make_customer(tenant)
    _registered(owner_db, late, "30 days")
    first_order = place(gql, world, batch, late, [(0, 1)], code=code_a)
    assert _binding(owner_db, late) == user_uuid(a.user_id) and _chain(owner_db, first_order) == {
        1: user_uuid(a.user_id)}


def test_an_unknown_code_refuses_the_order_and_writes_nothing(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    buyer = make_customer(tenant)
    for code in ("x" * 16, "short", ""):
        variables = place_input(batch, world, [(0, 1)])
        variables["input"]["shareCode"] = code
        refused = gql.data(ORDER_PLACE, variables, token=buyer.token)["orderPlace"]
        assert refused["order"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("NOT_FOUND", ["input", "shareCode"])], code
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = %s",
                            (user_uuid(buyer.user_id),)).fetchone()[0] == 0
    # A supplier or an anonymous caller cannot place one with a code either.
    code = share(gql, buyer.token, "BATCH", batch["id"])["share"]["code"]
    variables = place_input(batch, world, [(0, 1)])
    variables["input"]["shareCode"] = code
    anonymous = gql.data(ORDER_PLACE, variables, tenant=tenant.slug)["orderPlace"]
    assert [e["code"] for e in anonymous["errors"]] == ["FORBIDDEN"]


def test_a_replayed_order_with_a_code_is_the_first_one(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    a, b = make_customer(tenant), make_customer(tenant)
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    variables = place_input(batch, world, [(0, 1)], key="same-key")
    variables["input"]["shareCode"] = code_a
    one = gql.data(ORDER_PLACE, variables, token=b.token)["orderPlace"]
    two = gql.data(ORDER_PLACE, variables, token=b.token)["orderPlace"]
    assert one["errors"] == two["errors"] == [] and one["order"]["id"] == two["order"]["id"]
    assert owner_db.execute("SELECT count(*) FROM order_referral WHERE order_id = %s",
                            (order_uuid(one["order"]["id"]),)).fetchone()[0] == 1


def test_a_code_on_an_order_past_the_cutoff_is_refused_whole(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _setup(gql, owner_db, tenant)
    a, b = make_customer(tenant), make_customer(tenant)
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    close(gql, tenant, batch)
    variables = place_input(batch, world, [(0, 1)])
    variables["input"]["shareCode"] = code_a
    refused = gql.data(ORDER_PLACE, variables, token=b.token)["orderPlace"]
    assert refused["order"] is None and refused["errors"][0]["code"] == "BATCH_NOT_OPEN"
    assert _binding(owner_db, b) is None
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE visitor_id = %s",
                            (user_uuid(b.user_id),)).fetchone()[0] == 0
    assert global_id.decode_as(batch["id"], "Batch") is not None


def test_concurrent_rebinding_never_closes_a_cycle(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    """Twelve new customers each open every other's link at once (LATEST: each visit may rebind):
    whatever the interleaving, every customer has at most one referrer, none their own, and the
    bindings in force form no cycle; each history has no overlapping periods."""
    from concurrent.futures import ThreadPoolExecutor

    world, batch = _setup(gql, owner_db, tenant)
    gql.data(TENANT_UPDATE, {"input": {"referralBinding": "LATEST"}}, token=tenant.admin_token)
    people = [make_customer(tenant) for _ in range(12)]
    codes = [share(gql, p.token, "BATCH", batch["id"])["share"]["code"] for p in people]
    calls = [(p, code) for p in people for code in codes]
    import random

    random.Random(7).shuffle(calls)

    def visit(call):  # type: ignore[no-untyped-def]
        person, code = call
        return gql.data(SHARE_VISIT, {"c": code}, token=person.token)["shareVisit"]["errors"]

    with ThreadPoolExecutor(16) as pool:
        assert all(errors == [] for errors in pool.map(visit, calls))
    current = dict(owner_db.execute("SELECT customer_id, referrer_id FROM referral_binding WHERE tenant_id = %s "
                                    "AND superseded_at IS NULL", (tenant.uuid,)).fetchall())
    assert current, "some customers were bound"
    for start in current:
        seen, at = {start}, current.get(start)
        while at is not None:
            assert at not in seen, "a cycle of bindings"
            seen.add(at)
            at = current.get(at)
    overlapping = owner_db.execute("""
        SELECT count(*) FROM referral_binding a JOIN referral_binding b ON a.tenant_id = b.tenant_id
          AND a.customer_id = b.customer_id AND a.id <> b.id
        WHERE a.tenant_id = %s AND a.bound_at < coalesce(b.superseded_at, 'infinity')
          AND b.bound_at < coalesce(a.superseded_at, 'infinity')""", (tenant.uuid,)).fetchone()[0]
    assert overlapping == 0
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE tenant_id = %s",
                            (tenant.uuid,)).fetchone()[0] == len(calls)
