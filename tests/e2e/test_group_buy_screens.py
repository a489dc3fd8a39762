"""拼团 screens of the reference storefront (Debian's chromium, the real service), in zh-CN and en:
the starter shares their group (the link with their share code, and its QR code), a friend opens
that link and sees the group's state (the visit is recorded), and the group once it succeeded.

GROUPBUY_SCREENSHOTS=1 writes docs/screenshots/pintuan-share-<lang>.png, pintuan-group-<lang>.png
and pintuan-succeeded-<lang>.png."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.scenario import BATCH_CREATE, BATCH_PUBLISH, _run_opening_job, build_shop, ok

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PLACE = """mutation($i: OrderPlaceInput!) { orderPlace(input: $i) {
  order { id groupBuy { id } } errors { code field message } } }"""
PAID = """mutation($id: ID!, $ref: String!) { orderMarkPaid(id: $id, paymentReference: $ref) {
  order { groupBuy { status } } errors { code field message } } }"""
TEXT = {"zh-CN": {"open": "拼团中", "done": "拼团成功", "members": "已付款 1/3 人", "full": "已付款 3/3 人",
                  "share": "邀请好友参团", "title": "拼团：丹东草莓"},
        "en": {"open": "Open", "done": "Succeeded", "members": "1 of 3 paid", "full": "3 of 3 paid",
               "share": "Invite friends", "title": "Group buy: 丹东草莓"}}


@pytest.fixture(params=["zh-CN", "en"])
def lang(request: Any) -> str:
    return request.param


def test_share_a_group_and_follow_its_state(web, gql, api_url, make_tenant, make_customer, owner_db,  # type: ignore[no-untyped-def]
                                             lang: str) -> None:
    tenant = make_tenant(paymentMode="PREPAID", name="邻里鲜 Neighbourly", timezone="Asia/Shanghai")
    shop = build_shop(gql, tenant, make_customer)
    now = datetime.now(UTC)
    batch = ok(gql.data(BATCH_CREATE, {"i": {
        "title": "周五鲜果团", "opensAt": (now - timedelta(minutes=1)).isoformat(),
        "closesAt": (now + timedelta(hours=5)).isoformat(), "pickupDate": (now + timedelta(days=1)).date().isoformat(),
        "offers": [{"productId": shop.product_ids[0], "price": "19.90", "stockLimit": 50, "groupSize": 3,
                    "groupWindowMinutes": 120}]}}, token=tenant.admin_token)["batchCreate"], "batch")
    ok(gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)["batchPublish"], "batch")
    _run_opening_job(tenant, batch["id"])
    offer_id = batch["offers"][0]["id"]
    starter, *friends = [make_customer(tenant, name) for name in ("王芳", "小周", "李阿姨")]

    def order(customer: Any, group: str | None) -> dict:
        extra = {"groupBuyId": group} if group else {"startGroupBuy": True}
        placed = ok(gql.data(PLACE, {"i": {"batchId": batch["id"], "pickupPointId": shop.point_id,
                                           "lines": [{"offerId": offer_id, "quantity": 1}],
                                           "idempotencyKey": uuid.uuid4().hex, **extra}},
                             token=customer.token)["orderPlace"], "order")
        ok(gql.data(PAID, {"id": placed["id"], "ref": uuid.uuid4().hex}, token=tenant.api_key)["orderMarkPaid"],
           "order")
        return placed

    group_id = order(starter, None)["groupBuy"]["id"]
    texts = TEXT[lang]

    def shot(tab: Any, name: str) -> None:
        assert not tab.has_horizontal_overflow(), name
        if os.environ.get("GROUPBUY_SCREENSHOTS"):
            tab.page.screenshot(path=str(SHOTS / f"pintuan-{name}-{lang}.png"), full_page=True)

    # The starter, signed in on the shop, shares the group: their link and its QR code.
    mine = web(locale=lang)
    page = mine.page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.wait_for_selector("main[data-screen='points']")
    page.evaluate("([k, v]) => localStorage.setItem(k, v)", [f"shop.{tenant.slug}.token", starter.token])
    page.goto(f"{api_url}/shop/{tenant.slug}/#/group/{group_id}")
    page.wait_for_selector("main[data-screen='group']")
    assert page.locator("h1").inner_text() == texts["title"]
    page.click("#share-group")
    page.wait_for_selector("#group-share .qr svg")
    assert page.locator("#share-group").inner_text() == texts["share"]
    url = page.locator("#group-share-url").input_value()
    code = owner_db.execute("SELECT code FROM share_link WHERE tenant_id = %s AND target = 'GROUP_BUY'",
                            (tenant.uuid,)).fetchone()[0]
    assert url.endswith(f"/shop/{tenant.slug}/?share={code}#/group/{group_id}")
    shot(mine, "share")

    # A friend opens the link: the visit is recorded and the group's state shown, with a way in.
    theirs = web(locale=lang)
    page = theirs.page
    page.goto(url)
    page.wait_for_selector("main[data-screen='group']")
    assert page.locator("#group-status").inner_text() == texts["open"]
    assert page.locator("#group-members").inner_text() == texts["members"]
    assert page.locator("#join-group").count() == 1 and page.locator("#share-group").count() == 0
    assert owner_db.execute("SELECT count(*) FROM share_visit v JOIN share_link s ON s.id = v.share_link_id "
                            "WHERE s.tenant_id = %s AND s.code = %s", (tenant.uuid, code)).fetchone()[0] == 1
    assert page.evaluate(f"() => localStorage.getItem('shop.{tenant.slug}.share')") == code
    shot(theirs, "group")

    # Two friends pay: the group succeeded, nothing to join or share any more.
    for friend in friends:
        order(friend, group_id)
    page.reload()
    page.wait_for_selector("main[data-screen='group']")
    assert page.locator("#group-status").inner_text() == texts["done"]
    assert page.locator("#group-members").inner_text() == texts["full"]
    assert page.locator("#join-group").count() == 0 and page.locator("#share-group").count() == 0
    shot(theirs, "succeeded")
