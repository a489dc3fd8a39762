"""After-sales in the reference storefront (/shop/<slug>/), in Chromium against the real service:
on a picked-up order the customer asks for a refund of units (a wrong number refused in the page,
a bad photo link by the API), withdraws it, asks again; the leader approves and the customer sees
it, in English and Chinese; once the window after pickup is over, the API's refusal is shown.
Saves docs/screenshots/shop-aftersales-en.png and shop-aftersales-zh-CN.png."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.shortage_fixtures import closed_batch
from tests.test_aftersales import APPROVE, _picked_up

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
OPEN = "query { afterSalesRequests(status: REQUESTED) { edges { node { id quantity } } } }"


def _open(tab, api_url, slug, token, order_id, lang):  # type: ignore[no-untyped-def]
    page = tab.page
    page.goto(f"{api_url}/shop/{slug}/")
    page.evaluate("([key, token, lang]) => { localStorage.setItem(key, token); localStorage.setItem('shop.lang', lang); }",
                  [f"shop.{slug}.token", token, lang])
    page.goto(f"{api_url}/shop/{slug}/#/order/{order_id}")
    page.reload()
    page.wait_for_selector("main[data-screen='order']")
    return page


def _refunded(owner_db, order):  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT l.refunded_quantity FROM order_line l JOIN customer_order o ON o.id = l.order_id "
                            "WHERE o.number = %s", (order["number"],)).fetchone()[0]


def test_a_customer_asks_withdraws_and_is_refunded_in_the_storefront(web, gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: the browser's event loop runs in this one (the fixtures run asyncio).
    with ThreadPoolExecutor(1) as pool:
        closed, customer, order = pool.submit(_picked_up, gql, owner_db, tenant, make_customer, 4, "2.50").result()
    line = order["lines"][0]["id"]
    tab = web()
    page = _open(tab, api_url, tenant.slug, customer.token, order["id"], "en")
    card = page.locator(f"#after-sales li.as-line[data-line='{line}']")
    assert page.locator("#after-sales h2").inner_text() == "After-sales"
    card.locator("button.as-ask").click()
    assert card.locator(f"#as-q-{line}").input_value() == "4"

    # Too many units: refused in the page; a photo that is not an https link: the API says why.
    card.locator(f"#as-q-{line}").fill("5")
    card.locator("button[type=submit]").click()
    card.locator(".note.error", has_text="Between 1 and 4 units.").wait_for()
    card.locator(f"#as-q-{line}").fill("2")
    card.locator(f"#as-r-{line}").select_option("DAMAGED")
    card.locator(f"#as-n-{line}").fill("两盒压坏 two crushed")
    card.locator(f"#as-p-{line}").fill("http://img.example.com/a.jpg")
    card.locator("button[type=submit]").click()
    card.locator(".note.error", has_text="https").wait_for()
    assert gql.data(OPEN, token=tenant.admin_token)["afterSalesRequests"]["edges"] == []
    card.locator(f"#as-p-{line}").fill("https://img.example.com/a.jpg")
    card.locator("button[type=submit]").click()
    page.locator("#after-sales .note.success", has_text="the group leader will decide").wait_for()
    request = card.locator(".as-request[data-status='REQUESTED']")
    assert "Asked to refund 2" in request.inner_text() and "Damaged" in request.inner_text()
    assert card.locator("button.as-ask").count() == 0  # one open request per line
    (asked,) = [e["node"] for e in gql.data(OPEN, token=tenant.admin_token)["afterSalesRequests"]["edges"]]
    assert asked["quantity"] == 2

    # Withdrawn while it waits; then asked again for one unit, which the leader approves.
    request.locator("button.as-cancel").click()
    page.locator("#after-sales .note.success", has_text="Request withdrawn.").wait_for()
    assert card.locator(".as-request[data-status='CANCELLED']").count() == 1
    card.locator("button.as-ask").click()
    card.locator(f"#as-q-{line}").fill("1")
    card.locator("button[type=submit]").click()
    page.locator("#after-sales .note.success", has_text="the group leader will decide").wait_for()
    (asked,) = [e["node"] for e in gql.data(OPEN, token=tenant.admin_token)["afterSalesRequests"]["edges"]]
    approved = gql.data(APPROVE, {"id": asked["id"]}, token=closed.world.leader_token)["afterSalesApprove"]
    assert approved["errors"] == []
    assert _refunded(owner_db, order) == 1
    page.reload()
    page.wait_for_selector("main[data-screen='order']")
    card = page.locator(f"#after-sales li.as-line[data-line='{line}']")
    assert "Approved: 1 refunded" in card.locator(".as-request[data-status='APPROVED']").inner_text()
    for button in page.locator("#after-sales button:visible").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, box
    assert not tab.has_horizontal_overflow()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "shop-aftersales-en.png"), full_page=True)

    page = _open(tab, api_url, tenant.slug, customer.token, order["id"], "zh-CN")
    assert page.locator("#after-sales h2").inner_text() == "售后"
    assert "已同意，退 1 件" in page.locator("#after-sales").inner_text()
    page.screenshot(path=str(SHOTS / "shop-aftersales-zh-CN.png"), full_page=True)

    # The window after pickup ends: the API refuses and says why, and nothing is asked.
    owner_db.execute("UPDATE customer_order SET picked_up_at = picked_up_at - interval '49 hours' WHERE number = %s",
                     (order["number"],))
    page = _open(tab, api_url, tenant.slug, customer.token, order["id"], "en")
    card = page.locator(f"#after-sales li.as-line[data-line='{line}']")
    card.locator("button.as-ask").click()
    card.locator(f"#as-q-{line}").fill("1")
    card.locator("button[type=submit]").click()
    card.locator(".note.error", has_text="48 h after pickup").wait_for()
    assert gql.data(OPEN, token=tenant.admin_token)["afterSalesRequests"]["edges"] == []
    assert _refunded(owner_db, order) == 1


def test_an_order_not_picked_up_has_no_after_sales(web, gql, api_url, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    with ThreadPoolExecutor(1) as pool:
        closed = pool.submit(closed_batch, gql, owner_db, tenant, lambda _t: customer, ["2.50"], [[(0, 2)]]).result()
    page = _open(web(), api_url, tenant.slug, customer.token, closed.orders[0]["id"], "en")
    assert page.locator("#order-status").inner_text() == "Confirmed"
    assert page.locator("#after-sales").count() == 0
