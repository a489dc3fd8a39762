"""The per-sharer report counts the orders a sharer brought (their level-1 referrals' confirmed
orders) and their goods value whether or not the tenant pays distribution commissions."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from tests.growth_fixtures import close, enable_distribution, place, share
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers

REPORT = """query($f: Date!, $t: Date!) { sharerReport(from: $f, to: $t) { csvUrl
  rows { sharerId name visits bindings orders gmv { amount } commission { amount } } } }"""


def _report(gql, tenant):  # type: ignore[no-untyped-def]
    today = date.today()
    return gql.data(REPORT, {"f": (today - timedelta(days=1)).isoformat(), "t": (today + timedelta(days=1)).isoformat()},
                    token=tenant.admin_token)["sharerReport"]


def test_the_sharer_report_counts_referred_orders_without_distribution(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "5.00")])
    ann, ben, cai = (make_customer(tenant, n) for n in ("Ann", "Ben", "Cai"))
    code_ann = share(gql, ann.token, "BATCH", batch["id"])["share"]["code"]
    place(gql, world, batch, ben, [(0, 2)], code=code_ann)  # binds Ben to Ann: 20.00
    place(gql, world, batch, ben, [(1, 1)])  # Ben's binding in force: Ann's too, 5.00
    place(gql, world, batch, ben, [(1, 3)], pay=False)  # not paid: not an order yet
    code_ben = share(gql, ben.token, "OFFER", batch["offers"][0]["id"])["share"]["code"]
    place(gql, world, batch, cai, [(0, 1)], code=code_ben)  # Ben's (Ann is only level 2)

    rows = {r["name"]: r for r in _report(gql, tenant)["rows"]}
    assert rows["Ann"] == {"sharerId": ann.user_id, "name": "Ann", "visits": 1, "bindings": 1, "orders": 2,
                           "gmv": {"amount": "25.00"}, "commission": {"amount": "0.00"}}
    assert (rows["Ben"]["orders"], rows["Ben"]["gmv"], rows["Ben"]["commission"]) == (
        1, {"amount": "10.00"}, {"amount": "0.00"})
    assert "Cai" not in rows

    # With distribution on, the close adds the commission; the orders stay what they were.
    enable_distribution(gql, tenant, "0.10", "0.05")
    close(gql, tenant, batch)
    report = _report(gql, tenant)
    rows = {r["name"]: r for r in report["rows"]}
    assert (rows["Ann"]["orders"], rows["Ann"]["gmv"], rows["Ann"]["commission"]) == (
        2, {"amount": "25.00"}, {"amount": "3.00"})  # 10 % of 25.00, and 5 % of Cai's 10.00
    assert (rows["Ben"]["orders"], rows["Ben"]["commission"]) == (1, {"amount": "1.00"})
    text = httpx.get(report["csvUrl"]).content.decode("utf-8-sig")
    assert f"{ann.user_id},Ann,1,1,2,25.00,3.00,CNY" in text


REFERRALS = """query { myReferrals(first: 10) { edges { node { customerName level orders gmv { amount }
  commission { amount } } } } }"""


def test_a_referrers_list_counts_their_referrals_orders_without_distribution(  # type: ignore[no-untyped-def]
        gql, tenant, make_customer, owner_db):
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "10.00"), offer_input(world, 1, "5.00")])
    ann, ben, cai = (make_customer(tenant, n) for n in ("Ann", "Ben", "Cai"))
    place(gql, world, batch, cai, [(1, 1)])  # before Cai is bound to anyone: nobody's
    code_ann = share(gql, ann.token, "BATCH", batch["id"])["share"]["code"]
    place(gql, world, batch, ben, [(0, 2)], code=code_ann)  # binds Ben to Ann: 20.00
    place(gql, world, batch, ben, [(1, 1)])  # 5.00, Ben's binding in force
    place(gql, world, batch, ben, [(1, 3)], pay=False)  # not paid: not counted
    code_ben = share(gql, ben.token, "BATCH", batch["id"])["share"]["code"]
    gql.data("mutation($c: String!) { shareVisit(code: $c) { errors { code } } }", {"c": code_ben}, token=cai.token)
    place(gql, world, batch, cai, [(0, 1)])  # Cai -> Ben -> Ann: Ann's at level 2, 10.00

    mine = [e["node"] for e in gql.data(REFERRALS, token=ann.token)["myReferrals"]["edges"]]
    assert mine == [
        {"customerName": "B**", "level": 1, "orders": 2, "gmv": {"amount": "25.00"}, "commission": {"amount": "0.00"}},
        {"customerName": "C**", "level": 2, "orders": 1, "gmv": {"amount": "10.00"}, "commission": {"amount": "0.00"}}]
    (cai_for_ben,) = [e["node"] for e in gql.data(REFERRALS, token=ben.token)["myReferrals"]["edges"]]
    assert (cai_for_ben["level"], cai_for_ben["orders"], cai_for_ben["gmv"]) == (1, 1, {"amount": "10.00"})
