"""The storefront's coupons (/shop/<slug>/#/coupons), in Chromium against the real service: a
new-customer coupon, unused, after the customer's first order says it can no longer be taken, and
why, in the page's language; switching the language also saves it as the customer's message
language. Saves docs/screenshots/shop-coupons-en.png."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.coupon_fixtures import make_shop

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ME = "{ me { messageLanguage } }"
LANGUAGE_SET = "mutation($l: String!) { messageLanguageSet(language: $l) { errors { code } } }"


def _world(gql, owner_db, tenant):  # type: ignore[no-untyped-def]
    shop = make_shop(gql, owner_db, tenant)
    ((_, token),) = shop.customers(owner_db, 1)
    fresh = shop.claim(token, shop.template(audience="NEW_CUSTOMERS", name="New neighbour")["id"])["coupon"]
    anyone = shop.claim(token, shop.template(name="Weekend")["id"])["coupon"]
    assert shop.place(token, [(0, 1)])["errors"] == []
    assert gql.data(LANGUAGE_SET, {"l": "en"}, token=token)["messageLanguageSet"]["errors"] == []
    return token, fresh["id"], anyone["id"]


def test_the_storefront_says_why_a_new_customer_coupon_no_longer_applies(web, gql, api_url, tenant, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: the browser's event loop runs in this one (the fixtures run asyncio).
    with ThreadPoolExecutor(1) as pool:
        token, fresh, anyone = pool.submit(_world, gql, owner_db, tenant).result()
    page = web().page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.evaluate("([key, token]) => { localStorage.setItem(key, token); localStorage.setItem('shop.lang', 'en'); }",
                  [f"shop.{tenant.slug}.token", token])
    page.goto(f"{api_url}/shop/{tenant.slug}/#/coupons")
    page.reload()
    page.wait_for_selector("main[data-screen='coupons']")
    spent = page.locator(f"li.coupon[data-coupon='{fresh}']")
    assert spent.get_attribute("data-usable") == "false"
    assert "Not usable" in spent.inner_text()
    assert "ordered since you got it" in spent.locator(".why").inner_text()
    usable = page.locator(f"li.coupon[data-coupon='{anyone}']")
    assert usable.get_attribute("data-usable") == "true" and usable.locator(".why").count() == 0
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "shop-coupons-en.png"), full_page=True)

    page.locator("#lang").click()
    spent.locator(".why", has_text="首单").wait_for()
    assert "不可用" in spent.inner_text()
    deadline = time.monotonic() + 10
    while gql.data(ME, token=token)["me"]["messageLanguage"] != "zh-CN":
        assert time.monotonic() < deadline, "the language switch saved the message language"
        time.sleep(0.1)
