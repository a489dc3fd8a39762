"""The share journey in Debian's chromium against the real service, in zh-CN and en: a leader's
share poster (PNG, Chinese text drawn offline), a customer opening the share link (the visit is
recorded and the code rides with their order, binding them to the sharer), and a community group's
invite page naming the group, the leader and the point, with the link into the brand's front end.

GROUPBUY_SCREENSHOTS=1 writes docs/screenshots/share-poster.png and share-invite-<lang>.png."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from service import global_id
from tests.e2e.scenario import GROUP_CREATE, build_shop, ok, open_batch

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHARE = """mutation($id: ID!) { shareLinkCreate(target: BATCH, targetId: $id) {
  share { code url } posterUrl errors { code field message } } }"""
REGISTER = """mutation($i: CustomerRegisterInput!) { customerRegister(input: $i) { errors { code field message } } }"""
TEXT = {"zh-CN": ("团长：陈姐", "自提点：幸福里 3 号门便利店", "进入商城"),
        "en": ("Group leader: 陈姐", "Pickup point: 幸福里 3 号门便利店", "Open the shop")}


def test_share_link_poster_and_invite_page(web, gql, api_url, make_tenant, make_customer, owner_db,  # type: ignore[no-untyped-def]
                                           lang: str) -> None:
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP", name="邻里鲜 Neighbourly")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    group = ok(gql.data(GROUP_CREATE, {"i": {"name": "幸福里邻里群"}}, token=shop.leader_token)[
        "communityGroupCreate"], "communityGroup")
    made = gql.data(SHARE, {"id": shop.batch_id}, token=shop.leader_token)["shareLinkCreate"]
    assert made["errors"] == []
    tab = web(locale=lang)
    page = tab.page

    # The poster, as the leader's client shows it.
    poster = httpx.get(made["posterUrl"])
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"
    if os.environ.get("GROUPBUY_SCREENSHOTS") and lang == "zh-CN":
        (SHOTS / "share-poster.png").write_bytes(poster.content)

    # A neighbour opens the share link: the visit is recorded, the code kept for the order.
    page.goto(made["share"]["url"])
    page.wait_for_selector("main[data-screen='points']")
    link_id = owner_db.execute("SELECT id FROM share_link WHERE code = %s", (made["share"]["code"],)).fetchone()[0]
    assert owner_db.execute("SELECT count(*) FROM share_visit WHERE share_link_id = %s",
                            (link_id,)).fetchone()[0] == 1
    assert page.evaluate(f"() => localStorage.getItem('shop.{tenant.slug}.share')") == made["share"]["code"]

    page.click(f"button[data-point='{shop.point_id}']")
    page.wait_for_selector("main[data-screen='shop']")
    page.click(f"[data-add='{shop.offer_ids[0]}']")
    page.click("#place-order")
    page.wait_for_selector("main[data-screen='account']")
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    page.fill("#reg-name", "小周")
    page.fill("#reg-phone", phone)
    page.fill("#reg-password", "shop-customer-1")
    page.click("#register button[type=submit]")
    page.wait_for_selector("main[data-screen='shop']")
    leader_user = owner_db.execute("SELECT sharer_id FROM share_link WHERE id = %s", (link_id,)).fetchone()[0]
    # Registering through the link binds the customer already, before any order.
    assert owner_db.execute("SELECT b.referrer_id FROM referral_binding b JOIN app_user u ON u.id = b.customer_id "
                            "WHERE u.phone = %s AND b.superseded_at IS NULL", (phone,)).fetchall() == [(leader_user,)]
    page.click("#place-order")
    page.wait_for_selector("main[data-screen='order']")
    order_id = global_id.decode_as(page.evaluate("() => location.hash.split('/').pop()"), "Order")
    assert owner_db.execute("SELECT level, referrer_id FROM order_referral WHERE order_id = %s",
                            (order_id,)).fetchall() == [(1, leader_user)]

    # The community group's invite page.
    page.goto(f"{api_url}/shop/{tenant.slug}/#/join/{group['inviteCode']}")
    page.wait_for_selector("main[data-screen='join'] #invite")
    card = page.locator("#invite").inner_text()
    leader_text, point_text, button = TEXT[lang]
    assert "幸福里邻里群" in card and leader_text in card and point_text in card and "幸福路 88 号" in card
    assert page.locator("#front-end").inner_text() == button
    assert page.locator("#front-end").get_attribute("href").endswith(f"/shop/{tenant.slug}/#/")
    assert not tab.has_horizontal_overflow()
    if os.environ.get("GROUPBUY_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"share-invite-{lang}.png"), full_page=True)


@pytest.fixture(params=["zh-CN", "en"])
def lang(request: Any) -> str:
    return request.param


def test_the_leaders_client_makes_the_share_poster(web, gql, make_tenant, make_customer, lang: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP", name="邻里鲜 Neighbourly", timezone="Asia/Shanghai")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    tab = web(locale=lang)
    page = tab.sign_in(tenant.slug, shop.leader_phone, shop.leader_password)
    page.wait_for_selector("#sign-out")
    page.select_option("#lang", lang)
    page.goto(page.url.split("#")[0] + "#/share")
    page.click(f"button[data-share='{shop.batch_id}']")
    page.wait_for_function("() => { const i = document.querySelector('img.poster'); return i && i.complete "
                           "&& i.naturalWidth === 750; }")
    url = page.locator(".share-link").input_value()
    assert f"/shop/{tenant.slug}/?share=" in url
    assert page.locator("#referrals").count() == 0  # nobody bound yet
    # A neighbour registers through the link: the leader sees them, masked, with the level.
    code = url.split("share=")[1].split("#")[0]
    joined = gql.data(REGISTER, {"i": {"displayName": "王小明", "phone": f"+86136{uuid.uuid4().int % 10**8:08d}",
                                       "password": "neighbour-pass-1", "shareCode": code}},
                      tenant=tenant.slug)["customerRegister"]
    assert joined["errors"] == []
    page.reload()
    page.wait_for_selector("#referrals li")
    row = page.locator("#referrals li").inner_text()
    assert "王**" in row and ("直接推荐" if lang == "zh-CN" else "Referred by you") in row
    assert "小明" not in row
    page.click(f"button[data-share='{shop.batch_id}']")  # the poster again, for the screenshot
    page.wait_for_function("() => { const i = document.querySelector('img.poster'); return i && i.complete "
                           "&& i.naturalWidth === 750; }")
    assert page.locator("nav a[href='#/share']").inner_text() == ("分享" if lang == "zh-CN" else "Share")
    assert not tab.has_horizontal_overflow()
    if os.environ.get("GROUPBUY_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"share-leader-{lang}.png"), full_page=True)


def test_a_customer_shares_a_batch_and_sees_who_they_referred(web, gql, api_url, make_tenant, make_customer,  # type: ignore[no-untyped-def]
                                                              lang: str) -> None:
    tenant = make_tenant(name="邻里鲜 Neighbourly", timezone="Asia/Shanghai")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    ann = make_customer(tenant, "安妮 Ann")
    tab = web(locale=lang)
    page = tab.page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.evaluate("([k, v, l]) => { localStorage.setItem(k, v); localStorage.setItem('shop.lang', l); }",
                  [f"shop.{tenant.slug}.token", ann.token, lang])
    page.goto(f"{api_url}/shop/{tenant.slug}/#/share")
    page.wait_for_selector("main[data-screen='share']")
    assert page.locator("#share-link").inner_text() == ("分享" if lang == "zh-CN" else "Share")
    assert page.locator("#referrals").count() == 0
    page.click(f"button[data-share='{shop.batch_id}']")
    page.wait_for_selector(".share-link")
    url = page.locator(".share-link").input_value()
    code = url.split("share=")[1].split("#")[0]
    assert url.startswith(f"{api_url}/shop/{tenant.slug}/?share=")
    poster = httpx.get(page.locator(".poster-link").get_attribute("href"))
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"
    # A friend registers through Ann's link: Ann sees them, masked.
    joined = gql.data(REGISTER, {"i": {"displayName": "王小明", "phone": f"+86135{uuid.uuid4().int % 10**8:08d}",
                                       "password": "friend-pass-1", "shareCode": code}},
                      tenant=tenant.slug)["customerRegister"]
    assert joined["errors"] == []
    page.reload()
    page.wait_for_selector("#referrals li")
    row = page.locator("#referrals li").inner_text()
    assert "王**" in row and "小明" not in row
    assert ("直接推荐" if lang == "zh-CN" else "Referred by you") in row
    assert not tab.has_horizontal_overflow()
    if os.environ.get("GROUPBUY_SCREENSHOTS"):
        page.click(f"button[data-share='{shop.batch_id}']")
        page.wait_for_selector(".share-link")
        page.screenshot(path=str(SHOTS / f"share-customer-{lang}.png"), full_page=True)
