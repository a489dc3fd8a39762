"""A sharer's withdrawal in a real Chromium against the real API, in zh-CN and English: on the
storefront's Share screen the sharer sees their balance, the fee before asking, a refusal in their
language, then requests; in the console an operator approves one sharer's request and rejects
another's with a reason (the amount is available again).

    GROUPBUY_SCREENSHOTS=1 ... also saves docs/screenshots/shop-wallet-<lang>.png and
    console-sharer-withdrawals[-en].png."""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service import global_id
from tests.e2e.test_console import LAPTOP, confirm, settle, shot
from tests.ledger_world import age, earn, money_world, release
from tests.ordering_fixtures import _token
from tests.test_sharer_withdrawals import BALANCE, REQUEST, _request

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WORDS = {"zh-CN": {"quote": "实际到账", "over": "超过可提现余额", "sent": "已提交", "requested": "待审核",
                   "approved": "已通过", "rejected": "已驳回", "section": "分享者提现"},
         "en": {"quote": "you receive", "over": "More than the available balance", "sent": "Requested",
                "requested": "Awaiting review", "approved": "Approved", "rejected": "Rejected",
                "section": "Sharer withdrawals"}}
SMALL = """() => [...document.querySelectorAll('main button, main input, main select')]
  .filter((e) => e.offsetParent !== null).filter((e) => e.getBoundingClientRect().height < 43.5)
  .map((e) => e.outerHTML.slice(0, 80))"""
TINY = """() => [...document.querySelectorAll('main *')].filter((e) => e.childNodes.length
  && [...e.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim()))
  .filter((e) => parseFloat(getComputedStyle(e).fontSize) < 14).map((e) => e.outerHTML.slice(0, 80))"""


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_a_sharer_withdraws_in_the_shop_and_an_operator_decides_in_the_console(  # type: ignore[no-untyped-def]
        web, gql, api_url, make_tenant, owner_db, app_db_url, lang):
    words = WORDS[lang]
    tenant = make_tenant(timezone="Asia/Shanghai", name="邻里鲜 Neighbourly")

    def sharers():  # type: ignore[no-untyped-def]
        # 10 orders of 200.00: level 1 (5 %) 100.00 available, level 2 (2 %) 40.00.
        world = money_world(owner_db, tenant.uuid, orders=10, price=20000, sharers=("0.05", "0.02"))
        earn(tenant.uuid, world.order_ids)
        age(owner_db, tenant.uuid)
        release(app_db_url, tenant.uuid)
        return world

    with ThreadPoolExecutor(1) as pool:  # the domain code runs its own event loop; the browser's runs here
        world = pool.submit(sharers).result()
    owner_db.execute("UPDATE tenant SET withdrawal_minimum_minor = 200, withdrawal_fee_rate = 0.006, "
                     "withdrawal_fee_fixed_minor = 100 WHERE id = %s", (tenant.uuid,))
    s1, s2 = world.sharer_ids
    token = _token(tenant.uuid, s1)

    # The storefront's Share screen, on a phone.
    tab = web(locale=lang, viewport={"width": 360, "height": 740})
    page = tab.page
    page.goto(f"{api_url}/shop/{tenant.slug}/")
    page.evaluate("([k, v, l]) => { localStorage.setItem(k, v); localStorage.setItem('shop.lang', l); }",
                  [f"shop.{tenant.slug}.token", token, lang])
    page.goto(f"{api_url}/shop/{tenant.slug}/#/share")
    page.wait_for_selector("#wallet-balance")
    assert "100.00" in page.locator("#wallet-balance .stat").first.inner_text()
    page.fill("#withdraw-amount", "100.01")
    page.select_option("#withdraw-method", "ALIPAY")
    page.fill("#withdraw-account", "13800138000")
    page.fill("#withdraw-name", "分享者 1")
    page.click("#withdraw-submit")
    page.locator("#withdraw-form .note.error", has_text=words["over"]).wait_for()
    page.fill("#withdraw-amount", "60.00")  # fee 0.36 + 1.00, payout 58.64: shown before asking
    page.locator("#withdraw-quote", has_text="58.64").wait_for()
    quote = page.locator("#withdraw-quote").inner_text()
    assert words["quote"] in quote and "1.36" in quote and "2.00" in quote, quote
    assert page.evaluate(SMALL) == [] and page.evaluate(TINY) == []
    page.click("#withdraw-submit")
    page.locator("#withdraw-form .note.success", has_text=words["sent"]).wait_for()
    page.locator("#sharer-withdrawals li").wait_for()
    item = page.locator("#sharer-withdrawals li").inner_text()
    assert words["requested"] in item and "60.00" in item and "*8000" in item and "13800138000" not in item
    assert "40.00" in page.locator("#wallet-balance .stat").first.inner_text()
    assert not tab.has_horizontal_overflow()
    if lang == "en":  # no Chinese but the data's own (the account holder's name, the shop's name)
        text = page.locator("#wallet").inner_text().replace("分享者", "")
        assert not [c for c in text if "\u4e00" <= c <= "\u9fff"], text
    if os.environ.get("GROUPBUY_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"shop-wallet-{lang}.png"), full_page=True)

    # The other sharer asks through the API; an operator decides both in the console.
    mine = page.locator("#sharer-withdrawals li").first.get_attribute("data-id")
    theirs = gql.data(REQUEST, _request("30.00"), token=_token(tenant.uuid, s2))["sharerWithdrawalRequest"]
    assert theirs["errors"] == []
    other = theirs["sharerWithdrawal"]["id"]
    console = web(viewport=LAPTOP)
    console.set_session(tenant.admin_token, tenant.slug, lang)
    admin = console.open("console/withdrawals")
    admin.wait_for_selector("#sign-out")
    settle(admin)
    assert words["section"] in admin.locator("main").inner_text()
    rows = admin.locator("#sharer-withdrawals tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.id)")) == sorted([mine, other])
    assert "分享者 1" in admin.locator(f"#sharer-withdrawals tbody tr[data-id='{mine}']").inner_text()
    shot(admin, "sharer-withdrawals", lang)
    admin.locator(f"#sharer-withdrawals tbody tr[data-id='{mine}'] button.approve").click()
    admin.locator("#withdrawals-feedback .notice.success", has_text=words["approved"]).wait_for()
    admin.locator(f"#sharer-withdrawals tbody tr[data-id='{mine}']").wait_for(state="detached")
    admin.locator(f"#sharer-withdrawals tbody tr[data-id='{other}'] button.reject").click()
    confirm(admin, "账号有误")
    admin.locator("#withdrawals-feedback .notice.success", has_text=words["rejected"]).wait_for()
    admin.locator("#sharer-withdrawals").wait_for(state="detached")  # none REQUESTED any more

    def status(gid: str) -> tuple:  # type: ignore[type-arg]
        return owner_db.execute("SELECT status, reason FROM withdrawal WHERE id = %s",
                                (uuid.UUID(str(global_id.decode(gid)[1])),)).fetchone()

    assert status(mine) == ("APPROVED", None) and status(other) == ("REJECTED", "账号有误")
    left = gql.data(BALANCE, token=_token(tenant.uuid, s2))["myBalance"]["available"]["amount"]
    assert left == "40.00", "the rejected amount is available again"
    # The sharer sees the decision.
    page.reload()
    page.locator("#sharer-withdrawals li .badge.APPROVED").wait_for()
