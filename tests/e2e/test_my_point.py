"""The leader's "today at my point" screen in Chromium at phone width: orders, goods value and
expected commission for the day, per pickup point, another day on request; zh-CN and en. /graphql is
the contract-shaped stand-in (FakeApi answering LeaderToday); every document the screen sends is
validated against the service's schema.

    .venv/bin/python -m tests.e2e.test_my_point   # screenshots to docs/screenshots/my-point*.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from tests.e2e.fake_api import FakeApi, money

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DAY = "2026-12-07"


class PointApi(FakeApi):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.days: list[Any] = []

    def answer(self, op: str, v: dict) -> dict:
        if op == "LeaderToday":
            on = v.get("on")
            self.days.append(on)
            if on not in (None, DAY):
                return {"leaderToday": {"date": on, "orders": 0, "goodsValue": money("0.00"),
                                        "expectedCommission": money("0.00"), "points": []}}
            return {"leaderToday": {
                "date": DAY, "orders": 27, "goodsValue": money("1486.30"), "expectedCommission": money("148.63"),
                "points": [
                    {"orders": 19, "goodsValue": money("1032.80"), "expectedCommission": money("103.28"),
                     "pickupPoint": {"id": self.point["id"], "name": self.point["name"]}},
                    {"orders": 8, "goodsValue": money("453.50"), "expectedCommission": money("45.35"),
                     "pickupPoint": {"id": self.point2["id"], "name": self.point2["name"]}}]}}
        return super().answer(op, v)


@pytest.fixture
def point_tab(web):  # type: ignore[no-untyped-def]
    made: list[PointApi] = []

    def make(lang: str = "en"):  # type: ignore[no-untyped-def]
        api = PointApi()
        tab = web()
        api.install(tab.page)
        tab.set_session("fake-token", "fresh", lang=lang)
        made.append(api)
        return tab, api

    yield make
    schema = build_schema(SCHEMA.read_text())
    for api in made:
        for doc in api.documents:
            if not doc.lstrip().startswith("query SchemaTypes"):
                assert not validate(schema, parse(doc)), doc


def _settle(page: Any) -> None:
    page.wait_for_selector("#sign-out")
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")


def test_today_at_my_point_shows_orders_goods_and_expected_commission(point_tab) -> None:  # type: ignore[no-untyped-def]
    tab, api = point_tab()
    page = tab.open("my-point")
    _settle(page)
    assert page.locator("main h1").inner_text() == "Today at my point"
    assert page.locator("[data-key=orders]").inner_text() == "27"
    assert page.locator("[data-key=goods]").inner_text() == "CN¥1,486.30"
    assert page.locator("[data-key=commission]").inner_text() == "CN¥148.63"
    points = page.locator("ul.points > li")
    assert points.count() == 2 and "19 orders" in points.first.inner_text()
    assert page.input_value("#point-day") == DAY, "the tenant's day, as the API answered"
    assert api.days == [None]
    # Another day: asked for by date, nothing there.
    page.fill("#point-day", "2026-12-06")
    page.dispatch_event("#point-day", "change")
    page.locator(".empty, .muted", has_text="No orders at your pickup points").first.wait_for()
    assert api.days[-1] == "2026-12-06" and page.locator("[data-key=orders]").inner_text() == "0"
    # In the menu, and every tap target usable on a phone.
    link = page.locator("nav.menu a[href='#/my-point']")
    assert link.inner_text() == "My point" and link.get_attribute("aria-current") == "page"
    for selector in ("#point-day", "main a.button", "nav.menu a[href='#/my-point']"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["height"] >= 44, selector


def test_chinese_labels(point_tab) -> None:  # type: ignore[no-untyped-def]
    tab, _ = point_tab(lang="zh-CN")
    page = tab.open("my-point")
    _settle(page)
    assert page.locator("main h1").inner_text() == "今日门店"
    assert page.locator(".point-commission span").inner_text() == "预计佣金"
    assert page.locator("nav.menu a[href='#/my-point']").inner_text() == "今日门店"
    assert "已到账" not in page.locator("main").inner_text()


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
            PointApi().install(page)
            page.goto(f"{ORIGIN}/app/#/schema")
            page.evaluate("([s, l]) => { localStorage.setItem('groupbuy.session', s); "
                          "localStorage.setItem('groupbuy.lang', l); }", ['{"token": "t", "slug": "fresh"}', lang])
            page.goto(f"{ORIGIN}/app/#/my-point")
            page.wait_for_selector("#sign-out")
            page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
            page.wait_for_timeout(300)
            page.screenshot(path=str(SHOTS / f"my-point{suffix}.png"), full_page=True)
            print("wrote", SHOTS / f"my-point{suffix}.png")
            context.close()
        browser.close()


if __name__ == "__main__":
    screenshots()
