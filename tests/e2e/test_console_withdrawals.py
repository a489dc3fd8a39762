"""The console's withdrawal screen in a real Chromium against the real API, in zh-CN and English:
an operator approves one leader's request and rejects another's with a reason; the rejected
amount is available again; what is owed to every leader on a day is listed.

    GROUPBUY_SCREENSHOTS=1 ... -k withdrawals   also saves the screen to docs/screenshots/."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from service import global_id
from tests.e2e.test_console import LAPTOP, confirm, settle, shot
from tests.ledger_world import age, earn, money_world, release
from tests.test_ledger import BALANCE, REQUEST, _request

WORDS = {"zh-CN": {"approved": "已通过", "rejected": "已驳回", "title": "提现审核"},
         "en": {"approved": "Approved", "rejected": "Rejected", "title": "Withdrawal requests"}}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_operator_approves_and_rejects_withdrawals_and_sees_what_is_owed(  # type: ignore[no-untyped-def]
        web, gql, make_tenant, owner_db, app_db_url, lang):
    words = WORDS[lang]
    tenant = make_tenant(timezone="Asia/Shanghai")

    def available_money() -> list:  # type: ignore[type-arg]
        worlds = [money_world(owner_db, tenant.uuid, orders=1, price=10000) for _ in range(2)]  # 10.00 each
        for w in worlds:
            earn(tenant.uuid, w.order_ids)
        age(owner_db, tenant.uuid)
        release(app_db_url, tenant.uuid)
        return worlds

    with ThreadPoolExecutor(1) as pool:  # the domain code runs its own event loop; the browser's runs here
        worlds = pool.submit(available_money).result()
    ids = [gql.data(REQUEST, _request(amount), token=w.leader_token)["withdrawalRequest"]["withdrawal"]["id"]
           for w, amount in zip(worlds, ("4.00", "6.00"), strict=True)]

    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page = tab.open("console/withdrawals")
    page.wait_for_selector("#sign-out")
    settle(page)
    assert page.locator("h1").inner_text() == words["title"]
    rows = page.locator("#withdrawals tbody tr")
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.id)")) == sorted(ids)
    owed = page.locator("#leaders-owed tbody tr")
    assert owed.count() == 2 and all("10.00" in text for text in owed.all_inner_texts())
    unlabelled = page.evaluate("""() => [...document.querySelectorAll('main input, main select, main button')]
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
        .map((el) => el.outerHTML)""")
    assert unlabelled == []
    if lang == "en":  # no Chinese words but the data's own (the leaders' and account holders' names)
        text = page.locator("main").inner_text().replace("团长", "").replace("王", "")
        assert not [c for c in text if "\u4e00" <= c <= "\u9fff"], text
    shot(page, "withdrawals", lang)
    # On a phone: every control a thumb's size, no text under 14 px.
    page.set_viewport_size({"width": 360, "height": 740})
    small = page.evaluate("""() => [...document.querySelectorAll('main button, main input, main select')]
      .filter((e) => e.offsetParent !== null).filter((e) => e.getBoundingClientRect().height < 43.5)
      .map((e) => e.outerHTML.slice(0, 80))""")
    assert small == []
    tiny = page.evaluate("""() => [...document.querySelectorAll('main *')].filter((e) => e.childNodes.length
      && [...e.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim()))
      .filter((e) => parseFloat(getComputedStyle(e).fontSize) < 14).map((e) => e.outerHTML.slice(0, 80))""")
    assert tiny == []
    page.set_viewport_size(LAPTOP)

    page.locator(f"#withdrawals tbody tr[data-id='{ids[0]}'] button.approve").click()
    page.locator("#withdrawals-feedback .notice.success", has_text=words["approved"]).wait_for()
    page.locator(f"#withdrawals tbody tr[data-id='{ids[0]}']").wait_for(state="detached")
    page.locator(f"#withdrawals tbody tr[data-id='{ids[1]}'] button.reject").click()
    confirm(page, "账号有误")
    page.locator("#withdrawals-feedback .notice.success", has_text=words["rejected"]).wait_for()
    page.locator("#withdrawals").wait_for(state="detached")  # none REQUESTED any more

    def status(gid: str) -> tuple:
        return owner_db.execute("SELECT status, reason FROM withdrawal WHERE id = %s",
                                (uuid.UUID(str(global_id.decode(gid)[1])),)).fetchone()

    assert status(ids[0]) == ("APPROVED", None) and status(ids[1]) == ("REJECTED", "账号有误")
    available = gql.data(BALANCE, {}, token=worlds[1].leader_token)["leaderBalance"]["available"]["amount"]
    assert available == "10.00", "the rejected amount is available again"
    # The approved one is under its status, waiting for the back end to pay it.
    page.select_option("#withdrawal-status", "APPROVED")
    settle(page)
    page.locator(f"#withdrawals tbody tr[data-id='{ids[0]}']").wait_for()
