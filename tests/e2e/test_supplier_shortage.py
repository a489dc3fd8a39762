"""The supplier's purchase order in Chromium against the real service: shipped short with the
units actually shipped (a wrong quantity refused before anything is sent), then what the pickup
point reported on arrival (missing, damaged, note, photos) as its discrepancy report; in English
and Chinese, at phone width. Saves docs/screenshots/supplier-discrepancies-en.png and -zh-CN.png."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from service import global_id
from tests.ordering_fixtures import add_leader, add_pickup_point, make_world, offer_input, open_batch_with_offers
from tests.shortage_fixtures import BATCH_CLOSE, PURCHASE_ORDERS, Closed, closed_batch, paid_order
from tests.test_after_close import _supplier_login

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SETTLED = "() => document.querySelector('main') && !document.querySelector('main [aria-busy=true]')"
CONFIRM = """
mutation($b: ID!, $p: ID!, $lines: [ReceivedLineInput!]) {
  deliveryConfirm(batchId: $b, pickupPointId: $p, lines: $lines) { errors { code field message } }
}"""


def _setup(gql, owner_db, tenant, make_customer):  # type: ignore[no-untyped-def]
    closed = closed_batch(gql, owner_db, tenant, make_customer, ["2.00", "1.00"], [[(0, 3)], [(0, 2), (1, 1)]])
    po = gql.data(PURCHASE_ORDERS, {"batch": closed.batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]
    return closed, po, _supplier_login(gql, closed.world)


def _shorted(owner_db, closed):  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT coalesce(sum(l.shorted_quantity), 0) FROM order_line l JOIN customer_order o "
                            "ON o.id = l.order_id WHERE o.batch_id = %s", (closed.batch_uuid,)).fetchone()[0]


def test_the_supplier_ships_short_and_sees_the_points_discrepancies(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: the browser's event loop runs in this one (the fixtures run asyncio).
    with ThreadPoolExecutor(1) as pool:
        closed, po, token = pool.submit(_setup, gql, owner_db, tenant, make_customer).result()
    world = closed.world
    tab = web()
    tab.set_session(token, tenant.slug, lang="en")
    page = tab.open(f"purchase-order/{po['id']}")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    first = page.locator(f".po-lines li[data-product='{world.product_gid(0)}']")
    assert "× 5" in first.inner_text()
    quantity = first.locator("input.po-ship-quantity")
    assert quantity.input_value() == "5"
    assert page.locator("label[for='po-ship-q-0']").inner_text() == "Units shipped: Product 0"

    # More than was ordered: refused in the page, nothing shipped.
    quantity.fill("6")
    page.click("#po-ship")
    page.locator("#po-status", has_text="between 0 and the units ordered").wait_for()
    assert _shorted(owner_db, closed) == 0
    assert owner_db.execute("SELECT status FROM purchase_order WHERE batch_id = %s",
                            (closed.batch_uuid,)).fetchone()[0] != "SHIPPED"

    quantity.fill("4")
    page.click("#po-ship")
    page.locator("#po-status", has_text="Marked as shipped.").wait_for()
    assert page.locator(".purchase-order .badge").first.inner_text() == "Shipped"
    first = page.locator(f".po-lines li[data-product='{world.product_gid(0)}']")
    assert "Ordered 5 · shipped 4 · short 1" in first.locator(".po-shipped").inner_text()
    second = page.locator(f".po-lines li[data-product='{world.product_gid(1)}']")
    assert "Ordered 1 · shipped 1 · short 0" in second.locator(".po-shipped").inner_text()
    assert page.locator("input.po-ship-quantity").count() == 0
    assert _shorted(owner_db, closed) == 1  # the later order lost one unit, refunded

    # The point's leader confirms: of the 4 shipped, 3 arrived, 1 of them crushed.
    with ThreadPoolExecutor(1) as pool:
        confirmed = pool.submit(lambda: gql.data(CONFIRM, {"b": closed.batch["id"], "p": world.point_gid, "lines": [
            {"productId": world.product_gid(0), "received": 3, "damaged": 1, "note": "一盒压坏 one box crushed",
             "photoUrls": ["https://img.example.com/crushed.jpg"]}]}, token=world.leader_token)).result()
    assert confirmed["deliveryConfirm"]["errors"] == []
    page.reload()
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    (card,) = page.locator("#po-discrepancies li.discrepancy").all()
    text = card.inner_text()
    assert "Product 0" in text and "Ordered 5 · shipped 4 · received 3 · damaged 1" in text
    assert "one box crushed" in text
    link = card.locator(".po-photos a")
    assert link.get_attribute("href") == "https://img.example.com/crushed.jpg"
    assert link.get_attribute("rel") == "noopener noreferrer"
    for button in page.locator("main button").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, box
    assert not tab.has_horizontal_overflow()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "supplier-discrepancies-en.png"), full_page=True)

    tab.set_session(token, tenant.slug, lang="zh-CN")
    page = tab.open(f"purchase-order/{po['id']}")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    assert page.locator("#po-discrepancies h2").inner_text() == "到货差异"
    assert "订购 5 · 发货 4 · 到货 3 · 破损 1" in page.locator("#po-discrepancies li.discrepancy").inner_text()
    assert "订购 5 · 实发 4 · 缺 1" in page.locator(".po-shipped").first.inner_text()
    page.screenshot(path=str(SHOTS / "supplier-discrepancies-zh-CN.png"), full_page=True)


def test_a_purchase_order_shipped_in_full_reports_no_discrepancy(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:
        closed, po, token = pool.submit(_setup, gql, owner_db, tenant, make_customer).result()
    tab = web()
    tab.set_session(token, tenant.slug, lang="en")
    page = tab.open(f"purchase-order/{po['id']}")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    page.click("#po-ship")
    page.locator("#po-status", has_text="Marked as shipped.").wait_for()
    assert page.locator("#po-discrepancies").inner_text().endswith("No pickup point reported a difference.")
    assert _shorted(owner_db, closed) == 0


def _two_points(gql, owner_db, tenant, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    _, leader2, _ = add_leader(owner_db, tenant)
    point2 = global_id.encode("PickupPoint", add_pickup_point(owner_db, tenant, leader2))
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, "1.00")])
    orders = [paid_order(gql, world, batch, make_customer(tenant), [(0, 2)]),
              paid_order(gql, world, batch, make_customer(tenant), [(0, 2)], point_gid=point2),
              paid_order(gql, world, batch, make_customer(tenant), [(0, 3)])]
    assert gql.data(BATCH_CLOSE, {"id": batch["id"]}, token=tenant.admin_token)["batchClose"]["errors"] == []
    closed = Closed(world, batch, orders)
    po = gql.data(PURCHASE_ORDERS, {"batch": batch["id"]}, token=tenant.admin_token)["purchaseOrders"][
        "edges"][0]["node"]
    return closed, point2, po, _supplier_login(gql, world)


def test_the_supplier_ships_short_to_one_pickup_point(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:
        closed, point2, po, token = pool.submit(_two_points, gql, owner_db, tenant, make_customer).result()
    world = closed.world
    tab = web()
    tab.set_session(token, tenant.slug, lang="en")
    page = tab.open(f"purchase-order/{po['id']}")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    line = page.locator(f".po-lines li[data-product='{world.product_gid(0)}']")
    line.locator("details.po-ship-points summary").click()
    here = line.locator(f"input.po-ship-point[data-point='{world.point_gid}']")
    assert here.input_value() == "5"
    assert line.locator(f"input.po-ship-point[data-point='{point2}']").input_value() == "2"
    here.fill("3")
    assert line.locator("input.po-ship-quantity").input_value() == "5"  # the total follows the points
    page.click("#po-ship")
    page.locator("#po-status", has_text="Marked as shipped.").wait_for()
    assert "Ordered 7 · shipped 5 · short 2" in page.locator(".po-shipped").inner_text()
    # Only the first point is short: its later order loses 2; the other point keeps its 2.
    assert [owner_db.execute("SELECT shorted_quantity FROM order_line l JOIN customer_order o ON o.id = l.order_id "
                             "WHERE o.number = %s", (o["number"],)).fetchone()[0] for o in closed.orders] == [0, 0, 2]
    assert owner_db.execute("SELECT pickup_point_id, ordered, shipped FROM delivery_line d JOIN purchase_order po ON "
                            "po.id = d.purchase_order_id WHERE po.batch_id = %s ORDER BY ordered",
                            (closed.batch_uuid,)).fetchall() == [
        (global_id.decode_as(point2, "PickupPoint"), 2, 2), (world.point_id, 5, 3)]
