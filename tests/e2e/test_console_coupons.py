"""The console's coupon screen in a real Chromium, in zh-CN and English: an operator creates a
template, sees an invalid one refused in the page's language, sees claims and the discount given
against the budget, pauses and ends it.

    GROUPBUY_SCREENSHOTS=1 ... -k coupons   also saves the screen to docs/screenshots/."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.coupon_fixtures import CLAIM, make_shop
from tests.e2e.test_console import LAPTOP, confirm, settle, shot

WORDS = {"zh-CN": {"created": "已创建券模板", "invalid": "输入有误", "ended": "已结束", "paused": "已暂停"},
         "en": {"created": "Coupon template created", "invalid": "A value", "ended": "Ended", "paused": "Paused"}}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_creates_watches_and_ends_a_coupon_template(web, gql, make_tenant, make_customer, lang):  # type: ignore[no-untyped-def]
    words = WORDS[lang]
    tenant = make_tenant(timezone="Asia/Shanghai")
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page = tab.open("console/coupons")
    page.wait_for_selector("#sign-out")
    settle(page)
    page.fill("#coupon-name", "满30减5")
    page.fill("#coupon-amount", "-5")
    page.click("#coupon-create")
    error = page.locator("#coupons-feedback .notice.error")
    error.wait_for()
    if lang == "zh-CN":
        assert not any("a" <= c.lower() <= "z" for c in error.inner_text())
    page.fill("#coupon-amount", "5.00")
    page.fill("#coupon-threshold", "30")
    page.fill("#coupon-total", "50")
    page.fill("#coupon-budget", "100")
    page.click("#coupon-create")
    page.locator("#coupons-feedback .notice.success", has_text=words["created"]).wait_for()
    row = page.locator("#coupon-templates tbody tr", has_text="满30减5")
    row.wait_for()
    template_id = row.get_attribute("data-id")
    for _ in range(3):
        customer = make_customer(tenant)
        assert gql.data(CLAIM, {"t": template_id, "k": uuid.uuid4().hex}, token=customer.token)["couponClaim"][
            "errors"] == []
    page.reload()
    settle(page)
    row = page.locator("#coupon-templates tbody tr", has_text="满30减5")
    assert "3 / 50" in row.inner_text() and "100.00" in row.inner_text()
    shot(page, "coupons", lang)
    row.locator("button.pause").click()
    page.locator("#coupons-feedback .notice.success").wait_for()
    settle(page)
    page.locator("#coupon-templates tbody tr .badge.coupon-paused", has_text=words["paused"]).wait_for()
    page.locator("#coupon-templates tbody tr button.end").click()
    confirm(page)
    page.locator("#coupon-templates tbody tr .badge.coupon-ended", has_text=words["ended"]).wait_for()


SCOPED = """query { couponTemplates { edges { node { name kind audience offerIds batchId validFrom validUntil
  stacksWithGroupPrice } } } }"""


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_scopes_a_coupon_to_an_offer_for_new_customers(web, gql, make_tenant, owner_db, lang):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    with ThreadPoolExecutor(1) as pool:  # the world is made off the browser's event loop
        shop = pool.submit(make_shop, gql, owner_db, tenant).result()
    offer = shop.offer(2)
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page = tab.open("console/coupons")
    page.wait_for_selector("#sign-out")
    settle(page)
    page.fill("#coupon-name", "新人单品券")
    page.select_option("#coupon-kind", "UNIT_OFF")
    page.fill("#coupon-amount", "3.00")
    page.click("#coupon-create")  # a UNIT_OFF coupon names its offer
    error = page.locator("#coupons-feedback .notice.error")
    error.wait_for()
    if lang == "zh-CN":
        assert "适用商品" in error.inner_text() or not any("a" <= c.lower() <= "z" for c in error.inner_text())
    page.wait_for_selector(f'#coupon-scope option[value="o:{offer}"]', state="attached")
    assert page.locator(f'#coupon-scope option[value="b:{shop.batch["id"]}"]').count() == 1
    page.select_option("#coupon-scope", f"o:{offer}")
    page.select_option("#coupon-audience", "NEW_CUSTOMERS")
    page.fill("#coupon-from", "2030-01-01T08:00")
    page.fill("#coupon-until", "2030-02-01T20:00")
    page.check("#coupon-stacks")
    page.click("#coupon-create")
    page.locator("#coupons-feedback .notice.success").wait_for()
    page.locator("#coupon-templates tbody tr", has_text="新人单品券").wait_for()
    (node,) = [e["node"] for e in gql.data(SCOPED, token=tenant.admin_token)["couponTemplates"]["edges"]]
    assert (node["kind"], node["audience"], node["offerIds"], node["batchId"], node["stacksWithGroupPrice"]) == (
        "UNIT_OFF", "NEW_CUSTOMERS", [offer], None, True)
    assert node["validFrom"] < node["validUntil"] and node["validFrom"].startswith("2030-01-01")
