"""The leader at the pickup counter, in Chromium at phone size, in Chinese and in English (the
browser's language: nobody chooses): sign-in at the brand's link /app/<slug>/ with the phone number
typed the local way, 今日's waiting count, 催取货 with masked numbers and one rate-limited reminder,
a customer's orders found by their phone's last four digits and by 跟团号 and handed over at once,
the success card staying until the next pickup starts, and the service's refusals in the screen's
language.

GROUPBUY_SCREENSHOTS=1 also writes docs/screenshots/counter-*-<lang>.png (sign-in at the brand's
link, 今日 with the waiting count, offline 今日 and an offline refusal)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.e2e.scenario import build_shop, close_batch, open_batch, place_order

DELIVERY_RECEIVE = "mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"
ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"
CJK = re.compile(r"[\u4e00-\u9fff]")
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shot(page, name: str, language: str) -> None:  # type: ignore[no-untyped-def]
    if os.environ.get("GROUPBUY_SCREENSHOTS"):
        page.screenshot(path=str(SHOTS / f"counter-{name}-{language}.png"), full_page=True)

TEXTS = {
    "zh-CN": {"locale": "zh-CN", "today": "今日", "waiting": "待取货 3 单", "tail": "手机尾号", "seq": "跟团号",
              "two": "全部交付（2 单）", "done2": "已交付 2 单", "done1": "已交付 1 单", "remind": "一键提醒全部顾客（2 位）",
              "sent": "已提醒 2 位顾客。", "again": "分钟后再试", "none": "没有找到 9999 对应的订单。"},
    "en": {"locale": "en-US", "today": "Today", "waiting": "3 orders waiting for pickup", "tail": "Phone ending",
           "seq": "Batch no.", "two": "Hand over all (2 orders)", "done2": "handed over 2 orders",
           "done1": "handed over 1 order", "remind": "Remind all customers (2)", "sent": "2 customers reminded.",
           "again": "try again in", "none": "No order found for 9999."},
}


@pytest.fixture
def ready_shop(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    """Alice's two orders (跟团号 1 and 2) and Bob's one (3), arrived at the point."""
    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP", name="鲜邻优选")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    alice, bob = make_customer(tenant, "王阿姨"), make_customer(tenant, "李先生")
    place_order(gql, shop, alice, [(0, 2)])
    place_order(gql, shop, alice, [(1, 1)])
    place_order(gql, shop, bob, [(0, 1)])
    close_batch(gql, shop)
    gql.data(DELIVERY_RECEIVE, {"b": shop.batch_id, "p": shop.point_id}, token=shop.leader_token)
    return shop, alice, bob


def sign_in_at_the_brands_link(tab, shop, language: str | None = None):  # type: ignore[no-untyped-def]
    page = tab.page
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/signin")
    page.wait_for_selector("#login")
    assert page.locator("#slug").count() == 0  # no platform ID to type
    assert page.get_attribute("#login", "inputmode") == "tel"
    local = shop.leader_phone.removeprefix("+86")  # 13900000101, as every leader types it
    page.fill("#login", local)
    page.fill("#password", shop.leader_password)
    if language:
        page.wait_for_function("() => document.querySelector('#tenant-info').textContent.trim() !== ''")
        shot(page, "sign-in", language)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    return page


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_pickup_afternoon_at_the_counter(web, gql, ready_shop, language):  # type: ignore[no-untyped-def]
    shop, alice, bob = ready_shop
    words = TEXTS[language]
    tab = web(locale=words["locale"])
    page = sign_in_at_the_brands_link(tab, shop, language)
    # The browser's language stays after signing in to a Chinese tenant; nobody chose one.
    assert page.evaluate("document.documentElement.lang") == language
    assert page.locator("h1").inner_text() == words["today"]
    page.locator("#waiting-pickup .waiting-count", has_text=words["waiting"]).wait_for()
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
    shot(page, "today", language)

    # 催取货: both customers, numbers masked, a call button dialling the whole number.
    page.locator("#waiting-pickup a[href^='#/remind']").click()
    page.wait_for_selector("#remind-all")
    calls = page.locator("a.tel")
    assert calls.count() == 2
    hrefs = sorted(calls.nth(i).get_attribute("href") for i in range(2))
    assert hrefs == sorted([f"tel:{alice.phone}", f"tel:{bob.phone}"])
    shown = page.locator("main").inner_text()
    assert alice.phone[-8:-4] not in shown.replace(alice.phone[-4:], "")  # the middle digits are hidden
    assert re.search(rf"{alice.phone[3:6]}\*\*\*\*{alice.phone[-4:]}", shown), shown
    assert page.locator("#remind-all").inner_text() == words["remind"]
    page.click("#remind-all")
    page.locator("#remind-status", has_text=words["sent"]).wait_for()
    page.click("#remind-all")  # within the hour: refused, in the screen's language
    refused = page.locator("#remind-status .notice.error")
    refused.wait_for()
    assert words["again"] in refused.inner_text()
    assert bool(CJK.search(refused.inner_text())) == (language == "zh-CN")

    # By the phone's last four digits: Alice's two orders, handed over with one tap.
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/pickup")
    page.wait_for_selector("#mode-tail")
    assert page.locator("#mode-tail").inner_text() == words["tail"]
    page.click("#mode-tail")
    page.fill("#pickup-code", "9999" if not alice.phone.endswith("9999") and not bob.phone.endswith("9999") else "9998")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail").wait_for()
    page.fill("#pickup-code", alice.phone[-4:])
    page.press("#pickup-code", "Enter")
    card = page.locator("#pickup-feedback section.customer")
    card.wait_for()
    assert card.locator(".order-block").count() == 2
    card.locator("button.handover-all", has_text=words["two"]).click()
    done = page.locator("#pickup-feedback .result.ok", has_text=words["done2"])
    done.wait_for()
    for order in shop.orders[:2]:
        assert gql.data(ORDER_STATUS, {"id": order["id"]}, token=shop.tenant.admin_token)["order"]["status"] == "PICKED_UP"
    # One more tap on the button does not replace the success card: it stays until the next pickup.
    page.locator("#pickup-feedback").page.click("form.pickup button[type=submit]")
    assert page.locator("#pickup-feedback .result.ok").count() == 1
    assert page.locator("#pickup-feedback .result.fail").count() == 0

    # By 跟团号: Bob's order is number 3 in the batch.
    page.click("#mode-seq")
    assert page.locator("#pickup-feedback .result").count() == 0  # the next pickup started
    page.wait_for_selector("#pickup-batch")
    page.fill("#pickup-code", "3")
    page.press("#pickup-code", "Enter")
    card = page.locator("#pickup-feedback section.customer", has_text="李先生")
    card.wait_for()
    card.locator("button.handover-all").click()
    page.locator("#pickup-feedback .result.ok", has_text=words["done1"]).wait_for()
    status = gql.data(ORDER_STATUS, {"id": shop.orders[2]["id"]}, token=shop.tenant.admin_token)["order"]["status"]
    assert status == "PICKED_UP"


OFFLINE_TEXTS = {
    "zh-CN": {"locale": "zh-CN", "banner": "离线 · 显示的是", "refused": "没有网络：此操作没有执行"},
    "en": {"locale": "en-US", "banner": "Offline · showing data from", "refused": "No connection: this was not done"},
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_offline_reload_shows_the_last_data_and_refuses_actions(browser, api_url, gql, ready_shop, language):  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import PHONE

    shop, alice, bob = ready_shop
    words = OFFLINE_TEXTS[language]
    context = browser.new_context(viewport=PHONE, locale=words["locale"], service_workers="allow")
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(15000)
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/signin")
        page.fill("#login", shop.leader_phone.removeprefix("+86"))
        page.fill("#password", shop.leader_password)
        page.press("#password", "Enter")
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        # Online, under the service worker: today and the pickup screen load (and are kept).
        page.reload()
        page.locator("#waiting-pickup .waiting-count").wait_for()
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/pickup")
        page.wait_for_selector("#pickup-code")
        page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
        assert page.locator("#offline-banner").is_hidden()

        context.set_offline(True)
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/today")
        page.reload()  # no signal: the shell and the last data come from the phone
        page.locator("#waiting-pickup .waiting-count").wait_for()
        banner = page.locator("#offline-banner")
        banner.wait_for()
        assert banner.inner_text().startswith(words["banner"])
        shot(page, "offline-today", language)

        # An action offline is refused at once, clearly; what was typed stays; nothing reached the service.
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/pickup")
        page.wait_for_selector("#pickup-code")
        page.fill("#pickup-code", "123456")
        page.press("#pickup-code", "Enter")
        refused = page.locator("#pickup-feedback .result.fail")
        refused.wait_for()
        assert words["refused"] in refused.inner_text()
        assert page.input_value("#pickup-code") == "123456"
        shot(page, "offline-refused", language)
        statuses = {gql.data(ORDER_STATUS, {"id": o["id"]}, token=shop.tenant.admin_token)["order"]["status"]
                    for o in shop.orders}
        assert statuses == {"READY_FOR_PICKUP"}

        # Back online: the same action goes through, once.
        context.set_offline(False)
        page.click("#mode-tail")
        page.fill("#pickup-code", bob.phone[-4:])
        page.press("#pickup-code", "Enter")
        page.locator("#pickup-feedback button.handover-all").click()
        page.locator("#pickup-feedback .result.ok").wait_for()
        assert page.locator("#offline-banner").is_hidden()
        status = gql.data(ORDER_STATUS, {"id": shop.orders[2]["id"]}, token=shop.tenant.admin_token)["order"]["status"]
        assert status == "PICKED_UP"
    finally:
        context.close()
    assert errors == []


ORDERS_OFFLINE = {
    "zh-CN": {"locale": "zh-CN", "status": "待取货", "error": "网络", "seq": "跟团号 3"},
    "en": {"locale": "en-US", "status": "Ready for pickup", "error": "Network error", "seq": "No. 3"},
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_orders_offline_say_so_once_and_keep_the_filters(web, ready_shop, language):  # type: ignore[no-untyped-def]
    shop, alice, bob = ready_shop
    words = ORDERS_OFFLINE[language]
    tab = web(locale=words["locale"])
    page = sign_in_at_the_brands_link(tab, shop)
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/orders?batch={shop.batch_id}")
    page.locator(f"#filter-batch option[value='{shop.batch_id}']").wait_for(state="attached")
    page.locator("#order-count").wait_for()
    assert page.input_value("#filter-batch") == shop.batch_id
    assert page.locator(".card.order").count() == 3
    # Each order with its 跟团号, the number read out across the counter; the search finds it by that.
    bobs = page.locator(f".card.order[data-number='{shop.orders[2]['number']}']")
    assert bobs.locator(".batch-sequence").inner_text() == words["seq"]
    page.fill("#order-search", "3")
    assert bobs.is_visible()
    shown = page.eval_on_selector_all(".card.order", "cards => cards.map((c) => [c.dataset.number, "
                                      "c.querySelector('.batch-sequence').textContent])")
    assert all(seq == words["seq"] or "3" in number for number, seq in shown), shown
    page.fill("#order-search", "")

    # Elsewhere, then back to the orders with no signal (the screen's code is loaded, its data is not).
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/today")
    page.locator("#waiting-pickup .waiting-count").wait_for()
    tab.context.set_offline(True)
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/orders?batch={shop.batch_id}&status=READY_FOR_PICKUP")
    error = page.locator("main .notice.error").first
    error.wait_for()
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
    assert page.locator("main .notice.error").count() == 1  # said once, not once per area
    assert words["error"] in error.inner_text()
    assert bool(CJK.search(error.inner_text())) == (language == "zh-CN")
    # The filters stay as chosen, and in the address (a reload keeps them).
    assert page.input_value("#filter-batch") == shop.batch_id
    assert page.input_value("#filter-status") == "READY_FOR_PICKUP"
    assert page.locator("#filter-status option:checked").inner_text() == words["status"]
    assert f"batch={shop.batch_id}" in page.url and "status=READY_FOR_PICKUP" in page.url

    # Back online, the retry loads the list with the filters still applied.
    tab.context.set_offline(False)
    error.locator("button").click()
    page.locator("#order-count").wait_for()
    assert page.locator(".card.order").count() == 3  # all three are ready
    assert page.locator("main .notice.error").count() == 0
    assert page.input_value("#filter-batch") == shop.batch_id


KEPT_ANSWERS = """async () => {
  const names = (await caches.keys()).filter((n) => n.startsWith('groupbuy-data'));
  let n = 0;
  for (const name of names) n += (await (await caches.open(name)).keys()).length;
  return n;
}"""


def kept_answers(page, done, seconds: float = 10) -> int:  # type: ignore[no-untyped-def]
    """The service worker's kept answers, polled until `done` (wait_for_function takes a promise for true)."""
    for _ in range(int(seconds * 10)):
        n = page.evaluate(KEPT_ANSWERS)
        if done(n):
            return n
        page.wait_for_timeout(100)
    return n


def test_signing_out_leaves_no_customer_data_on_the_phone(browser, api_url, ready_shop):  # type: ignore[no-untyped-def]
    from tests.e2e.conftest import PHONE

    shop, alice, bob = ready_shop
    context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers="allow")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/signin")
        page.fill("#login", shop.leader_phone.removeprefix("+86"))
        page.fill("#password", shop.leader_password)
        page.press("#password", "Enter")
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/remind")  # names and numbers of the waiting customers
        page.wait_for_selector("#remind-all")
        assert kept_answers(page, lambda n: n > 0) > 0

        page.click("#sign-out")
        page.wait_for_selector("#login")
        assert kept_answers(page, lambda n: n == 0) == 0
        # The app itself is still there with no signal: the sign-in page, and nobody's orders.
        context.set_offline(True)
        page.reload()
        page.wait_for_selector("#login")
        assert alice.phone[-4:] not in page.locator("body").inner_text()
    finally:
        context.close()


LOST = {
    "zh-CN": {"locale": "zh-CN", "uncertain": "不能确定此操作是否已完成"},
    "en": {"locale": "en-US", "uncertain": "it is not known whether this was done"},
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_handover_whose_answer_is_lost_is_not_called_undone(browser, api_url, gql, ready_shop, owner_db, language):  # type: ignore[no-untyped-def]
    """The handover reaches the service, the answer never reaches the phone (the connection drops):
    the screen does not say "not done" (the leader would hand the goods over again) but that it is
    not known; confirming again is recognised as done."""
    from tests.e2e.conftest import PHONE

    shop, alice, bob = ready_shop
    words = LOST[language]
    context = browser.new_context(viewport=PHONE, locale=words["locale"], service_workers="allow")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/signin")
        page.fill("#login", shop.leader_phone.removeprefix("+86"))
        page.fill("#password", shop.leader_password)
        page.press("#password", "Enter")
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/pickup")
        page.wait_for_selector("#mode-tail")
        page.click("#mode-tail")
        page.fill("#pickup-code", bob.phone[-4:])
        page.press("#pickup-code", "Enter")

        def answer_lost(route):  # type: ignore[no-untyped-def]
            if "PickupConfirmOrders" in (route.request.post_data or ""):
                route.fetch()  # the service does it ...
                route.abort("connectionreset")  # ... and the answer is lost on the way back
            else:
                route.continue_()

        context.route("**/graphql", answer_lost)
        page.locator("#pickup-feedback button.handover-all").click()
        lost = page.locator("#pickup-feedback .result.fail")
        lost.wait_for()
        assert words["uncertain"] in lost.inner_text()
        status = gql.data(ORDER_STATUS, {"id": shop.orders[2]["id"]}, token=shop.tenant.admin_token)["order"]["status"]
        assert status == "PICKED_UP"

        context.unroute("**/graphql")
        page.fill("#pickup-code", bob.phone[-4:])
        page.press("#pickup-code", "Enter")
        page.locator("#pickup-feedback section.customer").wait_for()
        assert page.locator("#pickup-feedback button.handover-all").count() == 0  # nothing left to hand over
        events = owner_db.execute("SELECT count(*) FROM outbox_event WHERE tenant_id = %s AND event = 'ORDER_PICKED_UP'",
                                  (shop.tenant.uuid,)).fetchone()[0]
        assert events == 1
    finally:
        context.close()


LOOKUP = """async ([token, i]) => {
  const response = await fetch('/graphql', { method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: 'query PickupFind($t: String) { orders(phoneTail: $t, first: 5) { totalCount } }',
                           variables: { t: String(i).padStart(4, '0') } }) });
  return response.status;
}"""


def test_the_phone_keeps_the_last_hundred_answers(browser, api_url, ready_shop):  # type: ignore[no-untyped-def]
    """Every lookup at the counter is an answer kept for offline use: past a hundred, the oldest go."""
    from tests.e2e.conftest import PHONE

    shop, alice, bob = ready_shop
    context = browser.new_context(viewport=PHONE, locale="zh-CN", service_workers="allow")
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(f"{api_url}/app/{shop.tenant.slug}/#/signin")
        page.fill("#login", shop.leader_phone.removeprefix("+86"))
        page.fill("#password", shop.leader_password)
        page.press("#password", "Enter")
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        for i in range(120):  # one after another, as at the counter, through the service worker
            assert page.evaluate(LOOKUP, [shop.leader_token, i]) == 200
        context.set_offline(True)
        assert page.evaluate(LOOKUP, [shop.leader_token, 119]) == 200  # the latest: kept
        assert page.evaluate(LOOKUP, [shop.leader_token, 0]) == 503  # the first: gone
        count = page.evaluate("async () => (await (await caches.open('groupbuy-data-v1')).keys()).length")
        assert count == 100
    finally:
        context.close()


ALSO = {
    "zh-CN": {"locale": "zh-CN", "also": "这位顾客在本自提点还有 1 单待取货", "done1": "已交付 1 单"},
    "en": {"locale": "en-US", "also": "This customer has 1 order more waiting here", "done1": "handed over 1 order"},
}


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_one_code_shown_the_customers_other_orders_follow(web, gql, ready_shop, language):  # type: ignore[no-untyped-def]
    shop, alice, bob = ready_shop
    words = ALSO[language]
    tab = web(locale=words["locale"])
    page = sign_in_at_the_brands_link(tab, shop)
    page.goto(f"{tab.base_url}/app/{shop.tenant.slug}/#/pickup")
    page.wait_for_selector("#pickup-code")
    page.fill("#pickup-code", shop.orders[0]["pickupCode"])  # Alice shows the code of one of her two orders
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.ok").wait_for()
    page.locator("#pickup-feedback .also-waiting", has_text=words["also"]).wait_for()
    other = page.locator("#pickup-feedback section.customer")
    assert other.locator(".order-block").count() == 1
    other.locator("button.handover-all").click()
    page.locator("#pickup-feedback .result.ok", has_text=words["done1"]).wait_for()
    statuses = [gql.data(ORDER_STATUS, {"id": o["id"]}, token=shop.tenant.admin_token)["order"]["status"]
                for o in shop.orders]
    assert statuses == ["PICKED_UP", "PICKED_UP", "READY_FOR_PICKUP"]  # Bob's stays

    # Bob has no other order: his code gives the success card alone.
    page.fill("#pickup-code", shop.orders[2]["pickupCode"])
    with page.expect_response(lambda r: "PickupFind" in (r.request.post_data or "")):  # the look-up for others
        page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.ok").wait_for()
    page.evaluate("() => new Promise(requestAnimationFrame)")
    assert page.locator("#pickup-feedback .also-waiting").count() == 0
