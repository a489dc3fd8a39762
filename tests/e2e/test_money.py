"""The leader's money screen in Chromium at phone width: balance cards, the fee shown before a
withdrawal is sent, the history, a month's statement and entries; zh-CN and en. /graphql is a
contract-shaped stand-in (FakeApi with the money operations); every document the screen sends is
validated against the service's schema.

    .venv/bin/python -m tests.e2e.test_money   # screenshots to docs/screenshots/money*.png
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphql import build_schema, parse, validate

from tests.e2e.fake_api import FakeApi, money

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


class MoneyApi(FakeApi):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.available = "86.40"
        self.withdrawals: list[dict] = [
            {"id": "V2l0aGRyYXdhbDox", "status": "PAID", "requestedAt": "2026-11-20T02:00:00Z",
             "amount": money("50.00"), "fee": money("1.30"), "payout": money("48.70"), "method": "ALIPAY",
             "accountMasked": "*******1111", "reason": None}]
        self.requested: list[dict] = []

    def answer(self, op: str, v: dict) -> dict:
        if op == "MyBalance":
            return {"leaderBalance": {"pending": money("12.90"), "frozen": money("23.50"),
                                      "available": money(self.available),
                                      "inWithdrawal": money("20.00" if self.requested else "0.00"),
                                      "withdrawn": money("48.70")}}
        if op == "Quote":
            amount = v["a"]
            fee = f"{round(float(amount) * 0.006 + 1, 2):.2f}"
            return {"withdrawalQuote": {"fee": money(fee), "payout": money(f"{float(amount) - float(fee):.2f}"),
                                        "minimum": money("10.00")}}
        if op == "Withdraw" and float(v["i"]["amount"]) < 10:
            return {"withdrawalRequest": {"errors": [{"code": "INVALID", "field": ["input", "amount"],
                                                      "message": "Below the minimum withdrawal of 10.00 CNY."}],
                                          "withdrawal": None}}
        if op == "Withdraw":
            if float(v["i"]["amount"]) > float(self.available):
                return {"withdrawalRequest": {"errors": [{"code": "INSUFFICIENT_BALANCE", "field": ["input", "amount"],
                                                          "message": "More than the available balance."}],
                                              "withdrawal": None}}
            self.requested.append(v["i"])
            self.available = f"{float(self.available) - float(v['i']['amount']):.2f}"
            w = {"id": "V2l0aGRyYXdhbDoy", "status": "REQUESTED", "requestedAt": "2026-12-07T02:00:00Z",
                 "amount": money(v["i"]["amount"]), "fee": money("1.12"), "payout": money("18.88"),
                 "method": v["i"]["method"], "accountMasked": "*******" + v["i"]["account"][-4:], "reason": None}
            self.withdrawals.insert(0, w)
            return {"withdrawalRequest": {"errors": [], "withdrawal": {"id": w["id"], "status": "REQUESTED"}}}
        if op == "MyWithdrawals":
            return {"withdrawals": self._conn(self.withdrawals)}
        if op == "MyStatement":  # the month's lines, oldest first, a page at a time
            def line(i: int, kind: str, amount: str, balance: str, number: str | None = None) -> dict:
                return {"balance": money(balance), "entry": {
                    "id": f"TGVkZ2VyRW50cnk6{i}", "kind": kind, "at": f"2026-12-0{i}T03:00:00Z", "amount": money(amount),
                    "reason": None, "order": {"number": number} if number else None}}
            if v.get("after") == "page-2":  # the month's newest line, on a second page
                lines = self._conn([line(6, "DISTRIBUTION_CLAWBACK", "-1.35", "8.60", "1040")])
            else:
                lines = self._conn([line(1, "EARNED", "12.00", "52.00", "1001"), line(2, "WITHDRAWAL_PAID", "-48.70", "3.30"),
                                    line(3, "EARNED", "9.23", "12.53", "1042"), line(4, "CLAWBACK", "-2.58", "9.95", "1040"),
                                    line(5, "RELEASED", "23.40", "9.95", "1042")])
                lines["pageInfo"] = {"hasNextPage": True, "endCursor": "page-2"}
            return {"leaderStatement": {
                "opening": money("40.00"), "closing": money("8.60"),
                "csvUrl": f"/exports/leader-statement.csv?leaderId=TGVhZGVyOjE&month={v['m']}",
                "linesConnection": lines}}
        return super().answer(op, v)


@pytest.fixture
def money_tab(web):  # type: ignore[no-untyped-def]
    made: list[MoneyApi] = []

    def make(lang: str = "en"):  # type: ignore[no-untyped-def]
        api = MoneyApi()
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


def test_balances_fee_before_sending_request_history_and_month(money_tab) -> None:  # type: ignore[no-untyped-def]
    tab, api = money_tab()
    page = tab.open("money")
    _settle(page)
    assert page.locator(".balance-available dd").inner_text() == "CN¥86.40"
    assert page.locator(".balance-frozen dd").inner_text() == "CN¥23.50"
    assert page.locator(".balance-withdrawn dd").inner_text() == "CN¥48.70"
    page.fill("#w-amount", "20")
    page.locator(".fee-preview", has_text="Fee CN¥1.12, you receive CN¥18.88").wait_for()
    page.fill("#w-account", "13800001111")
    page.fill("#w-name", "Chen")
    page.click(".withdraw-form button[type=submit]")
    page.locator(".notice", has_text="Withdrawal requested.").wait_for()
    assert api.requested == [{"amount": "20", "method": "ALIPAY", "account": "13800001111", "accountName": "Chen"}]
    _settle(page)
    assert page.locator(".balance-available dd").inner_text() == "CN¥66.40"
    first = page.locator("ul.withdrawals > li").first
    assert first.get_attribute("data-status") == "REQUESTED" and "*******1111" in first.inner_text()
    page.fill("#w-amount", "500")
    page.click(".withdraw-form button[type=submit]")
    page.locator(".notice.error", has_text="More than your available balance.").wait_for()
    page.fill("#w-amount", "5")  # the server's words, which name the minimum
    page.click(".withdraw-form button[type=submit]")
    page.locator(".notice.error", has_text="Below the minimum withdrawal of 10.00 CNY.").wait_for()
    assert page.locator("[data-key=closing]").inner_text() == "CN¥8.60"
    kinds = page.locator("table.entries tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["EARNED", "WITHDRAWAL_PAID", "EARNED", "CLAWBACK", "RELEASED"]  # the statement's order
    # Every kind has its words (no raw key), and each line shows what was owed after it.
    oldest = page.locator("table.entries tr").first
    assert "#1001" in oldest.inner_text() and oldest.locator("small.after").inner_text() == "Balance CN¥52.00"
    assert page.locator("table.entries tr[data-kind=RELEASED] small.after").inner_text() == "Balance CN¥9.95"
    # The month goes on over a second page ("load more"), read with the first page's cursor.
    page.click("#entries-more")
    page.locator("table.entries tr[data-kind=DISTRIBUTION_CLAWBACK]", has_text="#1040").wait_for()
    assert page.locator("table.entries tr").count() == 6 and page.locator("#entries-more").count() == 0
    newest = page.locator("table.entries tr").last
    assert "Referral commission clawed back #1040" in newest.inner_text()
    assert newest.locator("small.after").inner_text() == "Balance CN¥8.60"
    # The month's statement as CSV, fetched with the leader's token.
    month = page.locator("#money-month").input_value()
    with page.expect_download() as info:
        page.click("#statement-csv")
    assert info.value.suggested_filename == f"statement-{month}.csv"
    page.locator(".csv-status", has_text=f"Downloaded statement-{month}.csv.").wait_for()
    # Tap targets stay usable on a phone.
    box = page.locator(".withdraw-form button[type=submit]").bounding_box()
    assert box is not None and box["height"] >= 44


def test_chinese_labels_and_the_earned_label_is_not_available(money_tab) -> None:  # type: ignore[no-untyped-def]
    tab, _ = money_tab(lang="zh-CN")
    page = tab.open("money")
    _settle(page)
    assert page.locator(".balance-available dt").inner_text() == "可提现"
    assert page.locator(".balance-frozen dt").inner_text() == "冻结中"
    page = tab.open("commissions")
    _settle(page)
    labels = page.locator(".sum-earned dt").all_inner_texts()
    assert labels and all("已到账" not in label for label in labels)


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
            MoneyApi().install(page)
            page.goto(f"{ORIGIN}/app/#/schema")
            page.evaluate("([s, l]) => { localStorage.setItem('groupbuy.session', s); "
                          "localStorage.setItem('groupbuy.lang', l); }", ['{"token": "t", "slug": "fresh"}', lang])
            page.goto(f"{ORIGIN}/app/#/money")
            page.wait_for_selector("#sign-out")
            page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
            page.fill("#w-amount", "20")
            page.wait_for_selector(".fee-preview:not(:empty)")
            page.screenshot(path=str(SHOTS / f"money{suffix}.png"), full_page=True)
            context.close()
        browser.close()


if __name__ == "__main__":
    screenshots()
