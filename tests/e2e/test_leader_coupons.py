"""The leader's coupons screen in Chromium at phone width, against the real service: the coupons
active for each open batch (the tenant's, the batch's, its offers'; paused, ended and other
batches' ones left out), in zh-CN and en, readable (text >= 14 px) and tappable (>= 44 px).

    .venv/bin/python -m tests.e2e.test_leader_coupons   # screenshots to docs/screenshots/leader-coupons*.png
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.coupon_fixtures import TEMPLATE_PAUSE, make_shop
from tests.e2e.fake_api import FakeApi, money
from tests.e2e.test_readable import CHECK, HEADER_ROWS
from tests.ordering_fixtures import offer_input, open_batch_with_offers

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _settle(page: Any) -> None:
    page.wait_for_selector("#sign-out")
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true], main .loading')")


@pytest.fixture
def coupon_shop(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: opening a batch runs an event loop, and the browser's holds this one.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_coupon_shop, gql, tenant, owner_db).result()


def _coupon_shop(gql: Any, tenant: Any, owner_db: Any) -> tuple[Any, dict]:
    shop = make_shop(gql, owner_db, tenant, prices=("29.90", "39.00", "32.50"))
    other = open_batch_with_offers(gql, shop.world, [offer_input(shop.world, 0, "9.90")])
    shop.template(name="满30减5", amountOff="5.00", threshold="30.00", totalQuantity=100)
    shop.template(name="鲜果85折", kind="PERCENT_OFF", amountOff=None, percentOff="15", maxDiscount="10.00",
                  batchId=shop.batch["id"], validDaysAfterClaim=3)
    shop.template(name="草莓立减", kind="UNIT_OFF", amountOff="3.00", offerIds=[shop.offer(0)],
                  audience="NEW_CUSTOMERS", validUntil=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    paused = shop.template(name="Paused")
    gql.data(TEMPLATE_PAUSE, {"id": paused["id"], "p": True}, token=tenant.admin_token)
    gql.data("mutation($id: ID!) { couponTemplateEnd(id: $id) { errors { code } } }",
             {"id": shop.template(name="Ended")["id"]}, token=tenant.admin_token)
    shop.template(name="Other batch", batchId=other["id"])
    return shop, other


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_the_leader_sees_each_open_batchs_active_coupons(web, coupon_shop, lang):  # type: ignore[no-untyped-def]
    shop, other = coupon_shop
    tab = web(locale=lang)
    tab.set_session(shop.world.leader_token, shop.tenant.slug, lang=lang)
    page = tab.open("coupons")
    _settle(page)
    assert page.locator("nav a[href='#/coupons']").inner_text() == ("优惠券" if lang == "zh-CN" else "Coupons")
    assert page.locator("nav a[href='#/coupons']").get_attribute("aria-current") == "page"
    card = page.locator(f"li.card[data-batch='{shop.batch['id']}']")
    names = card.locator(".coupon-name").all_inner_texts()
    assert [n.split(" ")[0].strip() for n in names] == ["满30减5", "鲜果85折", "草莓立减"], names
    whats = card.locator(".coupon-what").all_inner_texts()
    if lang == "en":
        assert whats == ["CN¥5.00 off orders of CN¥30.00", "15% off, at most CN¥10.00", "CN¥3.00 off one item"]
        assert card.locator(".coupon-left").first.inner_text() == "100 left"
        assert "New customers" in names[2]
        assert card.locator(".coupon-notes").all_inner_texts()[0] == "Valid 3 days after claiming · This batch only"
    else:
        assert whats == ["满¥30.00减¥5.00", "8.5折，最多减¥10.00", "单件减¥3.00"]
        assert card.locator(".coupon-left").first.inner_text() == "剩余 100 张"
        assert "新人专享" in names[2]
    other_card = page.locator(f"li.card[data-batch='{other['id']}']")
    assert other_card.locator(".coupon-name").all_inner_texts() == ["满30减5", "Other batch"]
    # Readable and tappable at phone width, the header on its rows.
    assert page.evaluate(CHECK) == []
    assert page.evaluate(HEADER_ROWS) == {"brandAndTools": True, "menuRows": 1, "overflow": False}
    box = card.locator("button.copy-coupons").bounding_box()
    assert box is not None and box["height"] >= 44
    assert tab.errors == []


class CouponsApi(FakeApi):
    def answer(self, op: str, v: dict) -> dict:
        if op == "CouponsOpenBatches":
            return {"batches": self._conn([{k: self.open_batch[k] for k in ("id", "title", "closesAt")}])}
        if op == "CouponsActive":
            def c(i: int, name: str, kind: str, **kw: Any) -> dict:
                base = {"id": f"Q291cG9uVGVtcGxhdGU6{i}", "name": name, "kind": kind, "claimed": 37,
                        "totalQuantity": None, "audience": "ANYONE", "percentOff": None, "validUntil": None,
                        "validDaysAfterClaim": None, "batchId": None, "offerIds": None, "amountOff": None,
                        "threshold": money("0.00"), "maxDiscount": None}
                return {**base, **kw}
            return {"availableCoupons": [
                c(1, "满30减5", "AMOUNT_OFF", amountOff=money("5.00"), threshold=money("30.00"), totalQuantity=200),
                c(2, "鲜果85折", "PERCENT_OFF", percentOff="15", maxDiscount=money("10.00"), validDaysAfterClaim=3,
                  batchId=self.open_batch["id"]),
                c(3, "草莓立减", "UNIT_OFF", amountOff=money("3.00"), audience="NEW_CUSTOMERS",
                  offerIds=["T2ZmZXI6MQ"], validUntil=self.open_batch["closesAt"])]}
        return super().answer(op, v)


def screenshots() -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
    from tests.e2e.screenshots import ORIGIN, serve_static

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        for lang, suffix in (("zh-CN", ""), ("en", "-en")):
            context = browser.new_context(viewport=PHONE, locale=lang, service_workers="block")
            page = context.new_page()
            page.route(f"{ORIGIN}/app/**", serve_static)
            CouponsApi().install(page)
            page.goto(f"{ORIGIN}/app/#/schema")
            page.evaluate("([s, l]) => { localStorage.setItem('groupbuy.session', s); "
                          "localStorage.setItem('groupbuy.lang', l); }", ['{"token": "t", "slug": "fresh"}', lang])
            page.goto(f"{ORIGIN}/app/#/coupons")
            _settle(page)
            page.wait_for_selector(".coupon")
            page.screenshot(path=str(SHOTS / f"leader-coupons{suffix}.png"), full_page=True)
            print("wrote", SHOTS / f"leader-coupons{suffix}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    screenshots()
