"""Sharing a 拼团 group: the link exists only for a group of the sharer's tenant, opens the group's
page in the storefront (or the brand's front end through {groupBuyId})."""

from __future__ import annotations

import httpx

from tests.group_buy_fixtures import group_batch, group_order, pay
from tests.growth_fixtures import SHARE_CODE, SHARE_CREATE, TENANT_UPDATE, share
from tests.ordering_fixtures import bulk_customers, make_world, offer_input, open_batch_with_offers


def test_a_group_share_link_opens_the_groups_page_and_only_in_its_tenant(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant, other = make_tenant(), make_tenant()
    world = make_world(owner_db, tenant)
    batch = group_batch(gql, world, size=2)
    ((_, starter),) = bulk_customers(owner_db, tenant, 1)
    ((_, stranger),) = bulk_customers(owner_db, other, 1)
    first = group_order(gql, batch, world, starter, start=True)["order"]
    pay(gql, world, first["id"])
    group_id = first["groupBuy"]["id"]

    made = share(gql, starter, "GROUP_BUY", group_id)
    link = made["share"]
    assert link["target"] == "GROUP_BUY" and link["targetId"] == group_id
    assert made["posterUrl"].endswith(f"/shop/{tenant.slug}/share/{link['code']}/poster.png")
    assert link["url"].endswith(f"/shop/{tenant.slug}/?share={link['code']}#/group/{group_id}")
    assert gql.data(SHARE_CODE, {"c": link["code"]}, tenant=tenant.slug)["shareCode"]["targetId"] == group_id
    # Another tenant's caller cannot share it, nor read the code.
    refused = gql.data(SHARE_CREATE, {"t": "GROUP_BUY", "id": group_id}, token=stranger)["shareLinkCreate"]
    assert refused["share"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["targetId"])]
    assert gql.data(SHARE_CODE, {"c": link["code"]}, tenant=other.slug)["shareCode"] is None
    # The brand's front end, through its template.
    assert gql.data(TENANT_UPDATE, {"input": {"frontEndUrlTemplate": "https://m.brand.example/pt/{groupBuyId}"}},
                    token=tenant.admin_token)["tenantUpdate"]["errors"] == []
    again = share(gql, starter, "GROUP_BUY", group_id)["share"]
    assert again["code"] == link["code"]
    assert again["url"] == f"https://m.brand.example/pt/{group_id}?share={link['code']}"


def test_a_groups_poster_shows_its_size_its_batch_and_its_offer_first(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.db import tenant_transaction
    from service.growth import links, poster
    from service.tenants.resolution import tenant_by_id
    from tests.conftest import run_db

    world = make_world(owner_db, tenant)
    # Another open batch closes sooner: the group's poster must not show it.
    open_batch_with_offers(gql, world, [offer_input(world, 2, "1.00")], closes_in=1800, title="Earlier batch")
    batch = open_batch_with_offers(gql, world, [
        offer_input(world, 1, "5.00"),
        offer_input(world, 0, "9.90", groupSize=3, groupWindowMinutes=60, groupExpiry="REFUND")], title="周五拼团")
    ((_, starter),) = bulk_customers(owner_db, tenant, 1)
    first = group_order(gql, {**batch, "offers": batch["offers"][1:]}, world, starter, start=True)["order"]
    pay(gql, world, first["id"])
    made = share(gql, starter, "GROUP_BUY", first["groupBuy"]["id"])
    response = httpx.get(made["posterUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"

    async def read(engine):  # type: ignore[no-untyped-def]
        info = await tenant_by_id(tenant.uuid)
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            found = await links.by_code(session, tenant_id=tenant.uuid, code=made["share"]["code"])
            return await poster.poster_data(session, tenant=info, share=found, url="https://x.example/")

    data = run_db(read)
    assert data.title == "3人团 Group of 3 · 周五拼团"
    assert data.offers == [("Product 0", "¥9.90"), ("Product 1", "¥5.00")]
