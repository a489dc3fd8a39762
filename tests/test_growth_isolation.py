"""Isolation of social growth between tenants: tenant A's bindings, referrals, commissions and
sharer report are invisible in tenant B, and A's share code binds no one in B."""

from __future__ import annotations

from datetime import date, timedelta

from tests.growth_fixtures import SHARE_VISIT, close, enable_distribution, place, share, user_uuid
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers

REFERRALS = "query { myReferrals(first: 10) { totalCount edges { node { id } } } }"
EARNINGS = """query { myDistributionCommissions(first: 10) { totalCount edges { node { id } } }
  myDistributionEarnings { pending { amount } } }"""
NODE = "query($id: ID!) { node(id: $id) { id } }"
REPORT = "query($f: Date!, $t: Date!) { sharerReport(from: $f, to: $t) { rows { name visits bindings } } }"


def test_bindings_commissions_and_reports_stay_in_their_tenant(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    world = make_world(owner_db, a)
    enable_distribution(gql, a)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00")])
    sharer, buyer = make_customer(a, "Alice"), make_customer(a, "Bob")
    code = share(gql, sharer.token, "BATCH", batch["id"])["share"]["code"]
    place(gql, world, batch, buyer, [(0, 1)], code=code)
    close(gql, a, batch)
    referral = gql.data(REFERRALS, token=sharer.token)["myReferrals"]["edges"][0]["node"]["id"]
    commission = gql.data(EARNINGS, token=sharer.token)["myDistributionCommissions"]["edges"][0]["node"]["id"]

    outsider = make_customer(b)
    # A's code in B: not found, nothing recorded or bound.
    visit = gql.data(SHARE_VISIT, {"c": code}, token=outsider.token)["shareVisit"]
    assert [e["code"] for e in visit["errors"]] == ["NOT_FOUND"]
    assert owner_db.execute("SELECT count(*) FROM referral_binding WHERE tenant_id = %s", (b.uuid,)).fetchone()[0] == 0
    # A's referral and commission ids resolve to nothing in B, for a customer or an admin.
    for token in (outsider.token, b.admin_token):
        assert gql.data(NODE, {"id": referral}, token=token)["node"] is None
        assert gql.data(NODE, {"id": commission}, token=token)["node"] is None
    assert gql.data(REFERRALS, token=outsider.token)["myReferrals"]["totalCount"] == 0
    mine = gql.data(EARNINGS, token=outsider.token)
    assert mine["myDistributionCommissions"]["totalCount"] == 0
    assert mine["myDistributionEarnings"]["pending"]["amount"] == "0.00"
    today = date.today()
    period = {"f": (today - timedelta(days=1)).isoformat(), "t": (today + timedelta(days=1)).isoformat()}
    assert gql.data(REPORT, period, token=b.admin_token)["sharerReport"]["rows"] == []
    rows = gql.data(REPORT, period, token=a.admin_token)["sharerReport"]["rows"]
    assert [(r["name"], r["visits"], r["bindings"]) for r in rows] == [("Alice", 1, 1)]
    assert owner_db.execute("SELECT referrer_id FROM referral_binding WHERE tenant_id = %s",
                            (a.uuid,)).fetchone()[0] == user_uuid(sharer.user_id)
