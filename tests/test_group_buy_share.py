"""Sharing a 拼团 group: the link exists only for a group of the sharer's tenant, opens the group's
page in the storefront (or the brand's front end through {groupBuyId})."""

from __future__ import annotations

from tests.group_buy_fixtures import group_batch, group_order, pay
from tests.growth_fixtures import SHARE_CODE, SHARE_CREATE, TENANT_UPDATE, share
from tests.ordering_fixtures import bulk_customers, make_world


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
    assert link["target"] == "GROUP_BUY" and link["targetId"] == group_id and made["posterUrl"] is None
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
