"""Registering through a share link binds the new customer to its sharer at once (not only at
their first order); an unknown or another tenant's code registers no one."""

from __future__ import annotations

import uuid

from tests.conftest import CUSTOMER_REGISTER
from tests.growth_fixtures import TENANT_UPDATE, share, user_uuid
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers

REFERRALS = "query { myReferrals(first: 10) { edges { node { customerName level } } } }"


def _register(gql, tenant, name, code):  # type: ignore[no-untyped-def]
    phone = f"+86138{uuid.uuid4().int % 10**8:08d}"
    payload = gql.data(CUSTOMER_REGISTER, {"input": {"displayName": name, "phone": phone,
                                                     "password": "customer-pass-1", "shareCode": code}},
                       tenant=tenant.slug)["customerRegister"]
    return payload, phone


def _referrer(owner_db, user_gid):  # type: ignore[no-untyped-def]
    row = owner_db.execute("SELECT referrer_id FROM referral_binding WHERE customer_id = %s AND superseded_at IS NULL",
                           (user_uuid(user_gid),)).fetchone()
    return row[0] if row else None


def test_registering_through_a_share_link_binds_to_its_sharer(gql, tenant, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00")])
    sharer = make_customer(tenant, "Alice")
    code = share(gql, sharer.token, "BATCH", batch["id"])["share"]["code"]
    visits = owner_db.execute("SELECT count(*) FROM share_visit").fetchone()[0]

    joined, _ = _register(gql, tenant, "王小明", code)
    assert joined["errors"] == [] and joined["token"]
    assert _referrer(owner_db, joined["viewer"]["userId"]) == user_uuid(sharer.user_id)
    assert [e["node"] for e in gql.data(REFERRALS, token=sharer.token)["myReferrals"]["edges"]] == [
        {"customerName": "王**", "level": 1}]
    # The link's opening was the visit: registering adds none.
    assert owner_db.execute("SELECT count(*) FROM share_visit").fetchone()[0] == visits

    # An unknown code, or another tenant's, is NOT_FOUND on the field, and no account is made.
    other = make_tenant()
    other_world = make_world(owner_db, other)
    other_batch = open_batch_with_offers(gql, other_world, [offer_input(other_world, 0, "10.00")])
    other_code = share(gql, make_customer(other).token, "BATCH", other_batch["id"])["share"]["code"]
    for bad in ("x" * 16, "short", other_code):
        refused, phone = _register(gql, tenant, "Bob", bad)
        assert refused["token"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("NOT_FOUND", ["input", "shareCode"])], bad
        assert owner_db.execute("SELECT count(*) FROM app_user WHERE phone = %s", (phone,)).fetchone()[0] == 0


def test_registration_binds_by_the_tenants_rule(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00")])
    a = make_customer(tenant)
    code_a = share(gql, a.token, "BATCH", batch["id"])["share"]["code"]
    b, _ = _register(gql, tenant, "Ben", code_a)
    code_b = share(gql, b["token"], "BATCH", batch["id"])["share"]["code"]
    c, _ = _register(gql, tenant, "Cai", code_b)
    assert _referrer(owner_db, c["viewer"]["userId"]) == user_uuid(b["viewer"]["userId"])
    assert _referrer(owner_db, b["viewer"]["userId"]) == user_uuid(a.user_id)
    # FIRST (the default): a later visit of another link changes nothing; LATEST takes over.
    gql.data("mutation($c: String!) { shareVisit(code: $c) { errors { code } } }", {"c": code_a}, token=c["token"])
    assert _referrer(owner_db, c["viewer"]["userId"]) == user_uuid(b["viewer"]["userId"])
    gql.data(TENANT_UPDATE, {"input": {"referralBinding": "LATEST"}}, token=tenant.admin_token)
    gql.data("mutation($c: String!) { shareVisit(code: $c) { errors { code } } }", {"c": code_a}, token=c["token"])
    assert _referrer(owner_db, c["viewer"]["userId"]) == user_uuid(a.user_id)
