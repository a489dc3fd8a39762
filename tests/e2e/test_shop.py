"""The reference storefront (/shop/<slug>/) in Debian's chromium against the real service, in zh-CN
and en: browse a leader's point, register by phone, order, pay through the development stand-in,
see the pickup code as a QR code and the order list, join a community group by its invite link.

GROUPBUY_SCREENSHOTS=1 also writes each screen to docs/screenshots/shop-<screen>-<lang>.png."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from service.shop_web import save_dev_key
from tests.e2e.scenario import GROUP_CREATE, build_shop, ok, open_batch

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TEXT = {  # one visible text per screen and language: the page speaks the customer's language
    "zh-CN": {"points": "选择自提点", "account": "登录 / 注册", "paid": "已支付", "orders": "我的订单",
              "join": "加入社群"},
    "en": {"points": "Choose a pickup point", "account": "Sign in or register", "paid": "Paid",
           "orders": "My orders", "join": "Join a community group"},
}
ORDER = "query($id: ID!) { order(id: $id) { status paymentReference pickupCode } }"
GROUP = "query { me { leader { communityGroups { id memberCount } } } }"


def test_customer_journey(web, gql, api_url, make_tenant, make_customer, lang: str) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PREPAID")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    group = ok(gql.data(GROUP_CREATE, {"i": {"name": "幸福里邻里群"}}, token=shop.leader_token)[
        "communityGroupCreate"], "communityGroup")
    save_dev_key(tenant.slug, tenant.api_key)  # what `groupbuy run` does for the demo tenant

    tab = web(locale=lang)
    page = tab.page
    texts = TEXT[lang]

    def screen(name: str) -> None:
        page.wait_for_selector(f"main[data-screen='{name}']")

    def shot(name: str) -> None:
        assert not tab.has_horizontal_overflow(), name
        if os.environ.get("GROUPBUY_SCREENSHOTS"):
            page.screenshot(path=str(SHOTS / f"shop-{name}-{lang}.png"), full_page=True)

    # Browse: the leader's pickup point, then the open batch.
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    screen("points")
    assert page.locator("h1").inner_text() == texts["points"]
    assert shop.point_name in page.locator("main").inner_text()
    shot("points")
    page.click(f"button[data-point='{shop.point_id}']")
    screen("shop")
    page.click(f"[data-add='{shop.offer_ids[0]}']")
    page.click(f"[data-add='{shop.offer_ids[0]}']")
    page.click(f"[data-add='{shop.offer_ids[1]}']")
    assert "92.30" in page.locator("#cart-total").inner_text()  # 2 × 29.90 + 32.50
    shot("shop")

    # Ordering asks to sign in; registering by phone comes back to the same cart.
    page.click("#place-order")
    screen("account")
    assert page.locator("h1").inner_text() == texts["account"]
    shot("account")
    phone = f"+86137{uuid.uuid4().int % 10**8:08d}"
    page.fill("#reg-name", "小周")
    page.fill("#reg-phone", phone)
    page.fill("#reg-password", "shop-customer-1")
    page.click("#register button[type=submit]")
    screen("shop")
    assert page.locator(f"[data-qty='{shop.offer_ids[0]}']").inner_text() == "2"

    # Order, then the payment step: PREPAID hands over to the brand's payment provider.
    page.click("#place-order")
    screen("order")
    page.wait_for_selector("#payment #dev-pay")
    assert page.locator("#pickup-code").count() == 0  # no pickup code before the payment
    shot("payment")
    order_id = page.evaluate("() => location.hash.split('/').pop()")
    token = page.evaluate(f"() => localStorage.getItem('shop.{tenant.slug}.token')")

    # The development stand-in confirms the payment with the tenant's API key (orderMarkPaid).
    page.click("#dev-pay")
    page.wait_for_selector(f"#order-status:text-is('{texts['paid']}')")
    paid = gql.data(ORDER, {"id": order_id}, token=token)["order"]
    assert paid["status"] == "PAID" and paid["paymentReference"].startswith("dev-")
    assert page.locator("#pickup-code .code").inner_text() == paid["pickupCode"]
    assert page.locator("#pickup-code svg path").count() == 1  # the QR code, drawn in the page
    shot("pickup-code")

    page.click("a[href='#/orders']")
    screen("orders")
    assert page.locator("h1").inner_text() == texts["orders"]
    assert page.locator("#orders li").count() == 1
    shot("orders")

    # The invite link of the leader's community group.
    page.goto(f"{api_url}/shop/{tenant.slug}/#/join/{group['inviteCode']}")
    screen("join")
    assert page.locator("h1").inner_text() == texts["join"]
    page.click("#join")
    page.wait_for_selector("#to-point")
    assert "幸福里邻里群" in page.locator("main").inner_text()
    shot("join")
    members = gql.data(GROUP, token=shop.leader_token)["me"]["leader"]["communityGroups"]
    assert [g["memberCount"] for g in members if g["id"] == group["id"]] == [1]
    page.click("#to-point")
    screen("shop")

    # The menu switches the language, and the choice is kept.
    other = "en" if lang == "zh-CN" else "zh-CN"
    page.click("a[href='#/orders']")
    screen("orders")
    page.click("#lang")
    page.wait_for_selector(f"h1:text-is('{TEXT[other]['orders']}')")
    page.reload()
    page.wait_for_selector(f"h1:text-is('{TEXT[other]['orders']}')")
    assert page.evaluate("() => document.documentElement.lang") == other


@pytest.fixture(params=["zh-CN", "en"])
def lang(request: Any) -> str:
    return request.param
