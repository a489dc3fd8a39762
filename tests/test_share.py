"""Share links over the API: codes, what they resolve to, URLs, posters, the invite page, and
isolation between tenants."""

from __future__ import annotations

import io
import re
import uuid

import httpx
from PIL import Image

from service import global_id
from service.growth.poster import FONT_PATH
from tests.growth_fixtures import ORDER_PLACE, SHARE_CODE, SHARE_CREATE, SHARE_VISIT, TENANT_UPDATE, share
from tests.ordering_fixtures import make_world, offer_input, open_batch_with_offers, place_input

INVITE = """query($c: String!) { invitePage(inviteCode: $c) {
  groupName leaderName pointName pointAddress frontEndUrl } }"""


def _world(gql, owner_db, tenant):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "12.90"), offer_input(world, 1, "3.50"),
                                                offer_input(world, 2, "8.00")], title="周末水果团 Weekend fruit")
    return world, batch


def test_a_share_code_resolves_anonymously_and_reveals_no_phone(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _world(gql, owner_db, tenant)
    sharer = make_customer(tenant, "王芳")
    made = share(gql, sharer.token, "BATCH", batch["id"])
    link = made["share"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{16}", link["code"])  # 96 random bits
    assert link["target"] == "BATCH" and link["targetId"] == batch["id"] and link["sharerName"] == "王芳"
    assert link["url"].endswith(f"/shop/{tenant.slug}/?share={link['code']}#/")
    digits = sharer.phone[-8:]
    assert digits not in link["code"] and digits not in link["url"]
    # The same sharer and target: the same link; another sharer: another code.
    assert share(gql, sharer.token, "BATCH", batch["id"])["share"]["code"] == link["code"]
    other = share(gql, make_customer(tenant).token, "BATCH", batch["id"])["share"]["code"]
    assert other != link["code"]
    # Anyone with X-Tenant reads it; an unknown or malformed code is null.
    assert gql.data(SHARE_CODE, {"c": link["code"]}, tenant=tenant.slug)["shareCode"] == link
    assert gql.data(SHARE_CODE, {"c": "A" * 16}, tenant=tenant.slug)["shareCode"] is None
    assert gql.data(SHARE_CODE, {"c": "../etc"}, tenant=tenant.slug)["shareCode"] is None
    visit = gql.data(SHARE_VISIT, {"c": link["code"]}, tenant=tenant.slug)["shareVisit"]
    assert visit["errors"] == [] and visit["share"]["code"] == link["code"]
    assert owner_db.execute("SELECT count(*) FROM share_visit v JOIN share_link s ON s.tenant_id = v.tenant_id "
                            "AND s.id = v.share_link_id "
                            "WHERE s.code = %s AND v.visitor_id IS NULL", (link["code"],)).fetchone()[0] == 1
    # A sharer whose display name is a phone number is shown masked.
    phone_named = make_customer(tenant, "13912345678")
    masked = share(gql, phone_named.token, "OFFER", batch["offers"][0]["id"])["share"]
    assert masked["sharerName"] == "1***" and masked["target"] == "OFFER"


def test_codes_do_not_collide_and_carry_96_bits() -> None:
    from service.growth.links import CODE_BYTES, new_code

    assert CODE_BYTES * 8 >= 64
    codes = {new_code() for _ in range(20000)}
    assert len(codes) == 20000 and all(len(c) == 16 for c in codes)


def test_targets_must_exist_in_the_tenant(gql, tenant, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _world(gql, owner_db, tenant)
    customer = make_customer(tenant)
    other = make_tenant()
    other_world, other_batch = _world(gql, owner_db, other)
    for target, target_id in (("BATCH", other_batch["id"]), ("OFFER", other_batch["offers"][0]["id"]),
                              ("BATCH", global_id.encode("Batch", uuid.uuid4())),
                              ("COMMUNITY_GROUP", global_id.encode("CommunityGroup", uuid.uuid4())),
                              ("GROUP_BUY", global_id.encode("GroupBuy", uuid.uuid4())),
                              ("OFFER", batch["id"])):  # a Batch ID is not an Offer's
        payload = gql.data(SHARE_CREATE, {"t": target, "id": target_id}, token=customer.token)["shareLinkCreate"]
        assert payload["share"] is None and [(e["code"], e["field"]) for e in payload["errors"]] == [
            ("NOT_FOUND", ["targetId"])], (target, payload)
    # Anonymous callers and suppliers cannot create links.
    anonymous = gql.data(SHARE_CREATE, {"t": "BATCH", "id": batch["id"]}, tenant=tenant.slug)["shareLinkCreate"]
    assert [e["code"] for e in anonymous["errors"]] == ["FORBIDDEN"]


def test_share_codes_of_one_tenant_are_useless_in_another(gql, tenant, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _world(gql, owner_db, tenant)
    code = share(gql, make_customer(tenant).token, "BATCH", batch["id"])["share"]["code"]
    other = make_tenant()
    other_world, other_batch = _world(gql, owner_db, other)
    assert gql.data(SHARE_CODE, {"c": code}, tenant=other.slug)["shareCode"] is None
    visit = gql.data(SHARE_VISIT, {"c": code}, tenant=other.slug)["shareVisit"]
    assert visit["share"] is None and [(e["code"], e["field"]) for e in visit["errors"]] == [("NOT_FOUND", ["code"])]
    buyer = make_customer(other)
    variables = place_input(other_batch, other_world, [(0, 1)])
    variables["input"]["shareCode"] = code
    refused = gql.data(ORDER_PLACE, variables, token=buyer.token)["orderPlace"]
    assert refused["order"] is None and [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("NOT_FOUND", ["input", "shareCode"])]
    # Nothing of the refused order stays: no order, no reserved stock, no visit.
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = %s",
                            (global_id.decode_as(buyer.user_id, "User"),)).fetchone()[0] == 0
    assert gql.data("query($id: ID!) { node(id: $id) { ... on Offer { soldQuantity } } }",
                    {"id": other_batch["offers"][0]["id"]}, tenant=other.slug)["node"]["soldQuantity"] == 0
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE tenant_id = %s",
                            (other.uuid,)).fetchone()[0] == 0


def test_the_front_end_url_template_builds_the_link(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _world(gql, owner_db, tenant)
    updated = gql.data(TENANT_UPDATE, {"input": {"frontEndUrlTemplate": "https://m.brand.example/{tenant}/b/{batchId}"
                                                                        "#/top"}},
                       token=tenant.admin_token)["tenantUpdate"]
    assert updated["errors"] == []
    link = share(gql, make_customer(tenant).token, "BATCH", batch["id"])["share"]
    batch_uuid = global_id.decode_as(batch["id"], "Batch")
    assert link["url"] == f"https://m.brand.example/{tenant.slug}/b/{batch_uuid}?share={link['code']}#/top"


def test_the_poster_is_a_png_with_chinese_text_and_a_qr_code(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    world, batch = _world(gql, owner_db, tenant)
    made = share(gql, world.leader_token, "BATCH", batch["id"])
    response = httpx.get(made["posterUrl"])
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    assert FONT_PATH.is_file() and "x-poster-font" not in response.headers  # installed by tests/system_deps.py
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (750, 1180)
    # The QR code's quiet zone and modules: black and white pixels in the lower half.
    colours = {image.getpixel((x, y)) for x in range(215, 535, 4) for y in range(760, 1060, 4)}
    assert (0, 0, 0) in colours and (255, 255, 255) in colours
    # The brand bar at the top.
    assert image.getpixel((5, 5)) == (22, 128, 61)
    # Another tenant's slug with this code, or an unknown code: 404.
    assert httpx.get(made["posterUrl"].replace(f"/shop/{tenant.slug}/", "/shop/no-such-tenant/")).status_code == 404
    assert httpx.get(made["posterUrl"].replace(made["share"]["code"], "B" * 16)).status_code == 404


def test_the_poster_data_has_the_batch_point_offers_and_cutoff(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.db import tenant_transaction
    from service.growth import links, poster
    from service.tenants.resolution import tenant_by_id
    from tests.conftest import run_db

    world, batch = _world(gql, owner_db, tenant)
    code = share(gql, world.leader_token, "BATCH", batch["id"])["share"]["code"]

    async def read(engine):  # type: ignore[no-untyped-def]
        info = await tenant_by_id(tenant.uuid)
        async with tenant_transaction(tenant.uuid, engine=engine) as session:
            found = await links.by_code(session, tenant_id=tenant.uuid, code=code)
            return await poster.poster_data(session, tenant=info, share=found, url="https://x.example/")

    data = run_db(read)
    assert data.brand == f"Tenant {tenant.slug}" and data.title == "周末水果团 Weekend fruit"
    assert data.point == "Shop · 1 Road" and data.cutoff
    assert data.offers == [("Product 0", "¥12.90"), ("Product 1", "¥3.50"), ("Product 2", "¥8.00")]


def test_the_invite_page_names_the_group_leader_and_point(gql, tenant, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    group = uuid.uuid4()
    owner_db.execute("INSERT INTO community_group (tenant_id, id, leader_id, name, invite_code) "
                     "VALUES (%s, %s, %s, '阳光花园业主群', 'SUNNY123')", (tenant.uuid, group, world.leader_id))
    page = gql.data(INVITE, {"c": "SUNNY123"}, tenant=tenant.slug)["invitePage"]
    assert page == {"groupName": "阳光花园业主群", "leaderName": "Leader", "pointName": "Shop",
                    "pointAddress": "1 Road", "frontEndUrl": page["frontEndUrl"]}
    assert page["frontEndUrl"].endswith(f"/shop/{tenant.slug}/#/")
    assert gql.data(INVITE, {"c": "SUNNY123"}, tenant=make_tenant().slug)["invitePage"] is None
    gql.data(TENANT_UPDATE, {"input": {"frontEndUrlTemplate": "https://m.brand.example/g/{groupCode}"}},
             token=tenant.admin_token)
    assert gql.data(INVITE, {"c": "SUNNY123"}, tenant=tenant.slug)["invitePage"]["frontEndUrl"] == \
        "https://m.brand.example/g/SUNNY123"
    # A group's share link opens the storefront's join page (or the template's group link).
    made = share(gql, world.leader_token, "COMMUNITY_GROUP", global_id.encode("CommunityGroup", group))
    assert made["share"]["url"].startswith("https://m.brand.example/g/SUNNY123?share=")
