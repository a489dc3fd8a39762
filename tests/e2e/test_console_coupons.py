"""The console's coupon screen in a real Chromium, in zh-CN and English: an operator creates a
template, sees an invalid one refused in the page's language, sees claims and the discount given
against the budget, pauses and ends it.

    GROUPBUY_SCREENSHOTS=1 ... -k coupons   also saves the screen to docs/screenshots/."""

from __future__ import annotations

import uuid

import pytest

from tests.coupon_fixtures import CLAIM
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
