"""Receiving at the point in Chromium against the real service: the leader says on the pick list
what arrived per product (missing and damaged units, with a note); those units are refunded to
the latest orders and shown as short; numbers out of range are refused in the page; in English
and Chinese, at phone width. Saves docs/screenshots/receiving-en.png and receiving-zh-CN.png."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.shortage_fixtures import closed_batch

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SETTLED = "() => document.querySelector('main') && !document.querySelector('main [aria-busy=true]')"


def _state(owner_db, closed):  # type: ignore[no-untyped-def]
    return owner_db.execute(
        "SELECT o.number, l.shorted_quantity, l.refunded_quantity, o.status FROM order_line l JOIN customer_order o "
        "ON o.id = l.order_id WHERE o.batch_id = %s ORDER BY o.created_at, l.position", (closed.batch_uuid,)).fetchall()


def _open(tab, closed, lang):  # type: ignore[no-untyped-def]
    tab.set_session(closed.world.leader_token, closed.world.tenant.slug, lang=lang)
    page = tab.open(f"picklist/{closed.batch['id']}/{closed.world.point_gid}")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    return page


def test_the_leader_reports_missing_and_damaged_units_on_arrival(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: the browser's event loop runs in this one (the fixtures run asyncio).
    with ThreadPoolExecutor(1) as pool:
        closed = pool.submit(closed_batch, gql, owner_db, tenant, make_customer, ["2.00", "1.00"],
                             [[(0, 3)], [(0, 2), (1, 1)]]).result()
    world = closed.world
    before = _state(owner_db, closed)
    tab = web()
    page = _open(tab, closed, "en")
    page.click("#goods-arrived")
    line = page.locator(f"fieldset.receive-line[data-product='{world.product_gid(0)}']")
    assert "Product 0" in line.locator("legend").inner_text() and "× 5" in line.locator("legend").inner_text()
    received = line.locator("input.receive-quantity")
    assert received.input_value() == "5"
    assert page.locator("label[for='receive-q-0']").inner_text() == "Units arrived"

    # Damaged beyond what arrived: refused in the page, nothing recorded.
    received.fill("3")
    line.locator("input.receive-damaged").fill("4")
    page.click("#goods-arrived-yes")
    page.locator(".notice.error", has_text="damaged at most those arrived").wait_for()
    assert _state(owner_db, closed) == before

    line.locator("input.receive-damaged").fill("1")
    line.locator("input.receive-note").fill("一盒压坏 one box crushed")
    for box in [page.locator(sel).bounding_box() for sel in ("#goods-arrived-yes", "#receive-q-0", "#receive-d-0")]:
        assert box is not None and box["height"] >= 44, box
    assert not tab.has_horizontal_overflow()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "receiving-en.png"), full_page=True)
    page.click("#goods-arrived-yes")
    page.locator(".notice.success", has_text="3 missing or damaged unit(s) refunded").wait_for()

    # 2 missing and 1 damaged of product 0: the later order (2 units) loses both, then the earlier one 1.
    (first, first_shorted, first_refunded, first_status), *rest = _state(owner_db, closed)
    assert (first_shorted, first_refunded, first_status) == (1, 1, "READY_FOR_PICKUP")
    assert [(s, r) for _, s, r, _ in rest] == [(2, 2), (0, 0)]
    assert owner_db.execute("SELECT note, received, damaged FROM delivery_line d JOIN purchase_order po ON "
                            "po.id = d.purchase_order_id WHERE po.batch_id = %s AND d.received < d.shipped",
                            (closed.batch_uuid,)).fetchall() == [("一盒压坏 one box crushed", 3, 1)]
    row = page.locator(f"table.totals tr[data-product='{world.product_gid(0)}']").inner_text()
    assert "Shipped 5 · short 3" in row
    assert page.locator("#goods-arrived").count() == 0
    # The earlier order's bag gets 2 of its 3; the later order's line, refunded whole, leaves its bag.
    assert page.locator(".pick-order .short").all_inner_texts() == [" (short 1)"]

    page = _open(tab, closed, "zh-CN")
    assert "发货 5 · 缺 3" in page.locator(f"table.totals tr[data-product='{world.product_gid(0)}']").inner_text()


def test_everything_arrived_as_shipped_needs_no_numbers(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    with ThreadPoolExecutor(1) as pool:
        closed = pool.submit(closed_batch, gql, owner_db, tenant, make_customer, ["2.00"], [[(0, 3)]]).result()
    tab = web()
    page = _open(tab, closed, "zh-CN")
    page.click("#goods-arrived")
    assert "如有缺少或破损" in page.locator(".receiving .hint").inner_text()
    page.screenshot(path=str(SHOTS / "receiving-zh-CN.png"), full_page=True)
    page.click("#goods-arrived-yes")
    page.locator(".notice.success").wait_for()
    assert [(s, r, status) for _, s, r, status in _state(owner_db, closed)] == [(0, 0, "READY_FOR_PICKUP")]
