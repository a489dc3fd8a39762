"""A leader's and a supplier's day in the browser against the real service: data made through the
public API (tests/e2e/scenario.py), then only clicks and typing in the web client."""

from __future__ import annotations

import pytest

from tests.e2e.scenario import GROUP_CREATE, build_shop, close_batch, ok, open_batch, place_order

ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"


@pytest.fixture
def shop(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP")
    return build_shop(gql, tenant, make_customer)


def sign_in_leader(web, shop):  # type: ignore[no-untyped-def]
    tab = web()
    page = tab.open("signin", f"?tenant={shop.tenant.slug}")
    page.select_option("#lang", "en")
    page.fill("#login", shop.leader_phone)
    page.fill("#password", shop.leader_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    return tab, page


# The page the address names is the one shown (a click changes the address before the app renders
# the new page: the old one, not busy, would pass) and nothing on it is loading.
_SETTLED = """() => {
  const name = decodeURIComponent(location.hash.replace(/^#\\/?/, '')).split('?')[0].split('/')[0];
  const main = document.querySelector('main');
  return !!main && (!name || main.classList.contains('page-' + name))
    && !document.querySelector('main [aria-busy=true]');
}"""


def settle(page):  # type: ignore[no-untyped-def]
    page.wait_for_function(_SETTLED)


def test_leader_sees_open_batch_orders_groups_and_refused_codes(web, gql, shop, make_customer):  # type: ignore[no-untyped-def]
    """Before the cutoff: today's batch counting down with its stock, the orders at the leader's
    point, the community group with its invite QR code, and a pickup code refused with the reason."""
    open_batch(gql, shop)
    alice, bob = make_customer(shop.tenant, "王阿姨"), make_customer(shop.tenant, "李先生")
    first = place_order(gql, shop, alice, [(0, 2), (1, 1)])
    place_order(gql, shop, bob, [(0, 1)])
    ok(
        gql.data(GROUP_CREATE, {"i": {"name": "幸福里邻居团购群"}}, token=shop.leader_token)[
            "communityGroupCreate"
        ],
        "communityGroup",
    )

    tab, page = sign_in_leader(web, shop)
    assert page.url.endswith("#/today")
    settle(page)
    batch = page.locator("#open-batches li.batch")
    assert batch.count() == 1 and "周五鲜果团" in batch.inner_text()
    assert batch.locator(".countdown").inner_text().startswith("Closes in 0")
    assert "47 left" in batch.locator(".offer").first.inner_text()  # 50 - 2 - 1

    page.click("nav.menu a[href='#/orders']")
    settle(page)
    assert sorted(page.locator("li.order .customer").all_inner_texts()) == ["李先生", "王阿姨"]
    page.fill("#order-search", first["number"])
    assert page.locator("li.order").count() == 1 and "王阿姨" in page.locator("li.order").inner_text()

    page.click("nav.menu a[href='#/groups']")
    settle(page)
    group = page.locator("li.group")
    assert "幸福里邻居团购群" in group.inner_text() and group.locator(".qr svg").count() == 1

    page.click("nav.menu a[href='#/pickup']")
    settle(page)
    page.fill("#pickup-code", "000000" if first["pickupCode"] != "000000" else "111111")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="No order with pickup code").wait_for()
    page.fill("#pickup-code", first["pickupCode"])  # the right code, but the batch has not closed
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="not ready for pickup").wait_for()
    assert tab.has_horizontal_overflow() is False


def test_leader_confirms_arrival_and_pickup_and_earns_commission(web, gql, shop, make_customer, owner_db):  # type: ignore[no-untyped-def]
    open_batch(gql, shop)
    alice, bob = make_customer(shop.tenant, "王阿姨"), make_customer(shop.tenant, "李先生")
    first = place_order(gql, shop, alice, [(0, 2), (1, 1)])
    second = place_order(gql, shop, bob, [(0, 1)])
    close_batch(gql, shop)

    tab, page = sign_in_leader(web, shop)
    settle(page)
    awaiting = page.locator("#awaiting-delivery li", has_text="周五鲜果团")
    assert "2 orders" in awaiting.inner_text()
    awaiting.locator("a", has_text="Pick list").click()
    settle(page)
    totals = page.locator("table.totals tbody tr").all_inner_texts()
    assert any("丹东草莓" in row and row.rstrip().endswith("3") for row in totals), totals
    assert page.locator(".pick-order").count() == 2
    # The bags are numbered in the order the orders were placed; the customers' codes are not shown.
    assert page.locator(".pick-order .pick-number").all_inner_texts() == ["#1", "#2"]
    listed = page.locator("main").inner_text()
    assert first["pickupCode"] not in listed and second["pickupCode"] not in listed
    assert first["number"] in page.locator(".pick-order").first.inner_text()

    # Before the goods arrive, the customer's right code is refused, and nothing is recorded.
    page.click("nav.menu a[href='#/pickup']")
    settle(page)
    page.fill("#pickup-code", first["pickupCode"])
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="have not arrived yet").wait_for()
    status = gql.data(ORDER_STATUS, {"id": first["id"]}, token=shop.tenant.admin_token)["order"]["status"]
    assert status == "CONFIRMED"
    page.go_back()
    settle(page)
    page.click("#goods-arrived")
    page.click("#goods-arrived-yes")
    page.locator(".notice.success", has_text="2 orders are ready for pickup").wait_for()
    for order in (first, second):
        status = gql.data(ORDER_STATUS, {"id": order["id"]}, token=shop.tenant.admin_token)["order"]["status"]
        assert status == "READY_FOR_PICKUP"

    page.click("nav.menu a[href='#/commissions']")
    settle(page)
    page.locator("ul.commissions summary").first.click()
    assert page.locator(f"tr[data-order='{first['number']}']").inner_text().endswith("Pending")

    page.click("nav.menu a[href='#/pickup']")
    settle(page)
    page.fill("#pickup-code", "000000" if first["pickupCode"] != "000000" else "111111")
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.fail", has_text="No order with pickup code").wait_for()
    page.fill("#pickup-code", first["pickupCode"])
    page.press("#pickup-code", "Enter")
    ok_box = page.locator("#pickup-feedback .result.ok")
    ok_box.wait_for()
    assert f"Order {first['number']} · 王阿姨" in ok_box.inner_text() and "丹东草莓" in ok_box.inner_text()
    assert "Fetch bag #1" in ok_box.inner_text()
    assert (
        gql.data(ORDER_STATUS, {"id": first["id"]}, token=shop.tenant.admin_token)["order"]["status"]
        == "PICKED_UP"
    )
    # The same code shown again 10 s later (by the server's clock, whatever the phone's says):
    # nothing is to be handed over.
    owner_db.execute(
        "UPDATE customer_order SET picked_up_at = picked_up_at - interval '10 seconds' WHERE number = %s",
        (first["number"],),
    )
    page.fill("#pickup-code", first["pickupCode"])
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback .result.warn", has_text="do not hand it over again").wait_for()

    page.click("nav.menu a[href='#/commissions']")
    settle(page)
    page.locator("ul.commissions summary").first.click()
    assert page.locator(f"tr[data-order='{first['number']}']").inner_text().endswith("Earned")
    assert page.locator(f"tr[data-order='{second['number']}']").inner_text().endswith("Pending")
    assert page.locator("ul.commissions .sum-earned dd").first.inner_text() != "CN¥0.00"


def test_supplier_acknowledges_ships_and_downloads_the_csv(web, gql, shop, make_customer):  # type: ignore[no-untyped-def]
    open_batch(gql, shop)
    place_order(gql, shop, make_customer(shop.tenant, "王阿姨"), [(0, 2)])
    place_order(gql, shop, make_customer(shop.tenant, "李先生"), [(0, 3), (1, 1)])
    close_batch(gql, shop)

    tab = web()
    page = tab.open("signin", f"?tenant={shop.tenant.slug}")
    page.select_option("#lang", "en")
    page.fill("#login", shop.supplier_login)
    page.fill("#password", shop.supplier_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    assert page.url.endswith("#/purchase-orders")
    settle(page)
    po_link = page.locator("a.link-card")
    assert po_link.count() == 1 and "Sent" in po_link.inner_text()
    number = po_link.get_attribute("data-number")
    po_link.click()
    settle(page)
    strawberries = page.locator(".po-lines li", has_text="丹东草莓")
    assert "× 5" in strawberries.inner_text()
    assert shop.point_name in strawberries.locator("table.deliveries").inner_text()
    page.click("#po-acknowledge")
    page.locator("#po-status", has_text="Acknowledged.").wait_for()
    page.click("#po-ship")
    page.locator("#po-status", has_text="Marked as shipped.").wait_for()
    assert page.locator(".purchase-order .badge").first.inner_text() == "Shipped"
    with page.expect_download() as info:
        page.click("#po-csv")
    download = info.value
    assert download.suggested_filename == f"{number}.csv"
    with open(download.path(), encoding="utf-8-sig") as f:
        csv_text = f.read()
    assert "丹东草莓" in csv_text and shop.point_name in csv_text
