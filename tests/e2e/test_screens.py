"""Each screen with contract-shaped data (tests/e2e/fake_api.py stands in for /graphql inside the
browser): what a leader and a supplier see and can do. Every document the client sends is validated
against the service's schema (which keeps the public contract), so the screens cannot drift from the
API they are written for."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from tests.e2e.fake_api import FakeApi

# The service's exported schema: it keeps the public contract (tests/test_schema_contract.py) and has
# the fields added since, such as pickNumber, which the client uses.
CONTRACT = Path(__file__).resolve().parents[2] / "schema.graphql"


@pytest.fixture
def fake(web):  # type: ignore[no-untyped-def]
    """(tab, api): a signed-in tab (English) whose /graphql is the fake; documents checked afterwards."""
    made: list[FakeApi] = []

    def make(roles: list[str] | None = None, lang: str = "en"):  # type: ignore[no-untyped-def]
        api = FakeApi(roles=roles)
        tab = web()
        api.install(tab.page)
        tab.set_session("fake-token", "fresh", lang=lang)
        made.append(api)
        return tab, api

    yield make
    if CONTRACT.exists():
        schema = build_schema(CONTRACT.read_text())
        for api in made:
            for doc in api.documents:
                if doc.lstrip().startswith("query SchemaTypes"):
                    continue  # introspection: valid against any schema
                errors = validate(schema, parse(doc))
                assert not errors, f"{doc}\n{errors}"


def settle(page):  # type: ignore[no-untyped-def]
    page.wait_for_selector("#sign-out")
    page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")


def test_today_counts_down_and_shows_stock_deliveries_and_notifications(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("today")
    settle(page)
    timer = page.locator("#open-batches .countdown")
    first = timer.inner_text()
    assert first.startswith("Closes in 05:12:")
    page.wait_for_function(
        "t => document.querySelector('#open-batches .countdown').textContent !== t", arg=first
    )
    offers = page.locator("#open-batches .offer").all_inner_texts()
    assert "37 left" in offers[0] and "Sold out" in offers[1] and "Unlimited" in offers[2]
    awaiting = page.locator("#awaiting-delivery .card")
    assert awaiting.count() == 1 and "3 orders" in awaiting.inner_text()
    assert awaiting.locator("a", has_text="Pick list").get_attribute("href").startswith("#/picklist/")
    page.click("#notifications button:has-text('Mark as read')")
    page.locator("#notifications", has_text="No unread notifications.").wait_for()


def test_orders_search_by_number_or_customer(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("orders")
    settle(page)
    assert page.locator("li.order").count() == 3
    page.fill("#order-search", "1043")
    assert page.locator("li.order").count() == 1 and "李先生" in page.locator("li.order").inner_text()
    page.fill("#order-search", "zhang")
    assert page.locator("li.order .order-number").all_inner_texts() == ["#1044"]
    page.fill("#order-search", "nobody")
    assert page.locator("main", has_text="No orders match.").count() == 1
    assert "q=nobody" in page.url  # the filters live in the address, so a reload keeps them


def test_pick_list_goods_arrived_and_print_views(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open(f"picklist/{api.closed_batch['id']}/{api.point['id']}")
    settle(page)
    totals = page.locator("table.totals tbody tr").all_inner_texts()
    assert any("丹东草莓" in row and "3" in row for row in totals)
    assert page.locator(".pick-order").count() == 3
    # Each order's pick number for its bag; the customers' pickup codes appear nowhere.
    assert page.locator(".pick-order .pick-number").all_inner_texts() == ["#1", "#2", "#3"]
    assert not [c for c in api.codes.values() if c in page.locator("main").inner_text()]
    assert "1042" in page.locator(".pick-order").first.inner_text()  # the order number, small
    page.click("#goods-arrived")
    page.click("#goods-arrived-yes")
    page.locator(".notice.success", has_text="Arrival confirmed: 3 orders are ready for pickup.").wait_for()
    assert page.locator(".pick-order .badge").all_inner_texts() == ["Ready for pickup"] * 3
    assert page.locator("#goods-arrived").count() == 0

    page.emulate_media(media="print")
    assert not page.locator("nav.menu").is_visible() and not page.locator("button").first.is_visible()
    assert page.locator("table.totals").is_visible() and page.locator(".pick-number").first.is_visible()
    page.evaluate("document.body.classList.add('print-receipt')")
    width_px = page.evaluate("document.body.getBoundingClientRect().width")
    assert width_px <= 80 / 25.4 * 96  # the receipt layout fits an 80 mm roll


def test_pick_list_prints_on_a4_and_on_an_80mm_roll(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open(f"picklist/{api.closed_batch['id']}/{api.point['id']}")
    settle(page)
    page.evaluate("window.print = () => { window.printed = (window.printed || 0) + 1; }")
    sizes = {}
    for button in ("Print (A4)", "Print (80 mm receipt)"):
        page.click(f"button:has-text('{button}')")
        pdf = page.pdf(prefer_css_page_size=True, print_background=False)
        boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
        assert boxes, "no page in the PDF"
        sizes[button] = (round(float(boxes[0][0])), round(float(boxes[0][1])), len(boxes))
    assert page.evaluate("window.printed") >= 2  # each button opens the print dialog
    assert sizes["Print (A4)"][:2] == (595, 842)  # A4 in points
    assert sizes["Print (80 mm receipt)"][0] == round(80 / 25.4 * 72)  # 227 pt wide
    assert sizes["Print (A4)"][2] == 1  # this pick list fits one A4 page


def test_pickup_by_code_right_wrong_and_twice(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("pickup")
    settle(page)
    code = page.locator("#pickup-code")
    assert code.get_attribute("inputmode") == "numeric"
    assert page.evaluate("document.activeElement.id") == "pickup-code"  # ready to type at once
    code.fill("000000")
    code.press("Enter")
    fail = page.locator("#pickup-feedback .result.fail")
    fail.wait_for()
    assert "No order with pickup code 000000 at this pickup point." in fail.inner_text()

    code.fill("123456")  # the right code before the goods arrived: refused, said so plainly
    code.press("Enter")
    page.locator("#pickup-feedback .result.fail", has_text="have not arrived yet").wait_for()
    assert 'Confirm "Goods arrived" on the pick list first' in fail.inner_text()
    assert api.orders[0]["status"] == "CONFIRMED"

    api.arrive()
    code.fill("123456")
    code.press("Enter")
    ok = page.locator("#pickup-feedback .result.ok")
    ok.wait_for()
    text = ok.inner_text()
    assert "Order 1042 · 王阿姨" in text and "丹东草莓" in text and "× 2" in text and "土鸡蛋" in text
    assert "Fetch bag #1" in text  # the bag the pick list numbered
    assert code.input_value() == ""  # ready for the next customer
    assert "#1 · Order 1042 · 王阿姨" in page.locator(".recent").inner_text()

    code.fill("123456")  # the same code again: the API says it was picked up before; do not hand over twice
    code.press("Enter")
    warn = page.locator("#pickup-feedback .result.warn")
    warn.wait_for()
    assert "Already picked up" in warn.inner_text() and "do not hand it over again" in warn.inner_text()


def test_pickup_network_failure_keeps_the_code(fake):  # type: ignore[no-untyped-def]
    """Sent, no answer: perhaps done (the phone cannot know), said so; the code stays for a retry."""
    tab, api = fake()
    page = tab.open("pickup")
    settle(page)
    page.unroute("**/graphql")
    page.route("**/graphql", lambda route: route.abort("internetdisconnected"))
    page.fill("#pickup-code", "654321")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="it is not known whether this was done").wait_for()
    assert page.input_value("#pickup-code") == "654321"


def test_scanned_values_give_the_pickup_code(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("pickup")
    settle(page)
    codes = page.evaluate("""async () => {
        const { codeFromScan } = await import('./views/pickup.js');
        return ['123456', ' 123456\\n', 'https://shop.example/pickup?code=123456',
                'https://shop.example/p?pickupCode=123456', 'https://shop.example/pickup/123456'].map(codeFromScan);
    }""")
    assert codes == ["123456"] * 5
    # Linux Chromium has no BarcodeDetector: the vendored decoder scans instead (tests/e2e/test_scan.py).
    assert page.locator("#scan").count() == 1


def test_groups_show_invite_link_and_qr_code(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("groups")
    settle(page)
    group = page.locator("li.group")
    assert "186 members" in group.inner_text() and group.locator(".invite-code").inner_text() == "XFL8K2"
    link = group.locator("input.invite-link").input_value()
    assert link.endswith("/app/#/join/XFL8K2?tenant=fresh")
    qr = group.locator(".qr svg")
    assert qr.count() == 1 and qr.bounding_box()["width"] >= 150
    modules = page.evaluate(
        """async (text) => {
        const { default: qrcode } = await import('./vendor/qrcode.js');
        const q = qrcode(0, 'M'); q.addData(text); q.make(); return q.getModuleCount();
    }""",
        link,
    )
    assert modules >= 25  # a real QR symbol (version 2 or more for a link this long)
    page.goto(link)  # the invite link opens a page that shows the code
    page.locator(".big-code", has_text="XFL8K2").wait_for()


def test_commissions_by_batch(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    page = tab.open("commissions")
    settle(page)
    card = page.locator("ul.commissions > li")
    assert card.count() == 1
    assert card.locator(".sum-pending dd").inner_text() == "CN¥3.90"
    assert card.locator(".sum-earned dd").inner_text() == "CN¥9.23"
    assert card.locator(".sum-reversed dd").inner_text() == "CN¥2.99"
    card.locator("summary").click()
    assert card.locator("tr[data-order='1042']").inner_text().endswith("Earned")


def test_supplier_acknowledges_ships_and_downloads_csv(fake):  # type: ignore[no-untyped-def]
    tab, api = fake(roles=["SUPPLIER"])
    page = tab.open("")
    settle(page)
    assert page.url.endswith("#/purchase-orders")
    assert page.locator("nav.menu a").all_inner_texts() == ["Purchase orders"]
    page.click("a[data-number='PO-3815-0472']")
    settle(page)
    rows = page.locator(".po-lines li").first.locator("table.deliveries tr").all_inner_texts()
    assert "幸福里小区 3 号门便利店" in rows[0] and rows[0].rstrip().endswith("30")
    page.click("#po-acknowledge")
    page.locator("#po-status", has_text="Acknowledged.").wait_for()
    assert page.locator(".purchase-order .badge").first.inner_text() == "Acknowledged"
    page.click("#po-ship")
    page.locator("#po-status", has_text="Marked as shipped.").wait_for()
    assert page.locator("#po-ship").count() == 0
    with page.expect_download() as info:
        page.click("#po-csv")
    download = info.value
    assert download.suggested_filename == "PO-3815-0472.csv"
    assert "丹东草莓" in Path(download.path()).read_text()


def test_screens_in_chinese(fake):  # type: ignore[no-untyped-def]
    tab, api = fake(lang="zh-CN")
    page = tab.open("pickup")
    settle(page)
    assert page.locator("h1").inner_text() == "取货核销"
    page.fill("#pickup-code", "123456")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="货物还没有到达自提点").wait_for()
    api.arrive()
    page.fill("#pickup-code", "123456")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.ok", has_text="核销成功").wait_for()
    assert "请取 #1 号袋" in page.locator("#pickup-feedback").inner_text()


def test_desktop_layout(fake):  # type: ignore[no-untyped-def]
    tab, api = fake()
    tab.page.set_viewport_size({"width": 1280, "height": 800})
    for route in ["today", "orders", "groups", "commissions", "purchase-orders"]:
        page = tab.open(route)
        settle(page)
        assert not tab.has_horizontal_overflow(), route
        assert page.locator("main").bounding_box()["width"] <= 960


def test_phone_layout_of_every_screen(fake):  # type: ignore[no-untyped-def]
    tab, api = fake(lang="zh-CN")
    for route in [
        "today",
        "orders",
        f"picklist/{api.closed_batch['id']}/{api.point['id']}",
        "pickup",
        "groups",
        "commissions",
        "purchase-orders",
        f"purchase-order/{api.pos[0]['id']}",
    ]:
        page = tab.open(route)
        settle(page)
        assert not tab.has_horizontal_overflow(), route
