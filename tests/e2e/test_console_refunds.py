"""Refunds by quantity in the console, in Chromium against the real service: an admin refunds part
of a line with a reason code (a number out of range refused in the page), then the rest; the order
lists its refunds with why, how many and who; in English and Chinese."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e.test_console import LAPTOP, confirm, settle
from tests.shortage_fixtures import closed_batch

WORDS = {"en": {"refunded": "Refunded;", "reason": "Damaged", "left": "(3 left)", "none": "No refunds yet."},
         "zh-CN": {"refunded": "已退款", "reason": "破损", "left": "（可退 3 件）", "none": "还没有退款。"}}


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_an_admin_refunds_part_of_a_line_with_a_reason(web, gql, tenant, make_customer, owner_db, lang):  # type: ignore[no-untyped-def]
    words = WORDS[lang]
    with ThreadPoolExecutor(1) as pool:
        closed = pool.submit(closed_batch, gql, owner_db, tenant, make_customer, ["3.35"], [[(0, 5)]]).result()
    order = closed.orders[0]
    line = order["lines"][0]["id"]
    tab = web(viewport=LAPTOP)
    tab.set_session(tenant.admin_token, tenant.slug, lang)
    page = tab.open(f"console/orders/{order['id']}")
    page.wait_for_selector("#sign-out")
    settle(page)
    assert page.locator("main").inner_text().count(words["none"]) == 1
    units = page.locator(f"#refund-q-{line}")
    assert units.input_value() == "5"

    page.check("#refund-form input[name=line]")
    units.fill("6")
    page.click("#refund-submit")
    page.locator("#refund-feedback .notice.error").wait_for()  # more than the line holds: nothing sent
    assert page.locator("dialog.confirm").count() == 0
    units.fill("2")
    page.select_option("#refund-reason", "DAMAGED")
    page.click("#refund-submit")
    confirm(page, "两盒压坏 two crushed")
    page.locator("#refund-feedback .notice.success", has_text=words["refunded"]).wait_for()
    page.locator("#order-refunds tbody tr").first.wait_for()
    assert owner_db.execute("SELECT refunded_quantity FROM order_line l JOIN customer_order o ON o.id = l.order_id "
                            "WHERE o.number = %s", (order["number"],)).fetchone() == (2,)
    row = page.locator("#order-refunds tbody tr").first.inner_text()
    assert "2" in row and "6.70" in row and words["reason"] in row and "two crushed" in row
    assert words["left"] in page.locator("#refund-form").inner_text()
    assert page.locator(f"#refund-q-{line}").input_value() == "3"

    # The rest of the line: the form goes, two refunds listed.
    page.check("#refund-form input[name=line]")
    page.click("#refund-submit")
    confirm(page, "顾客不要了 changed mind")
    page.locator("#order-refunds tbody tr:nth-child(2)").wait_for()
    assert page.locator("#refund-form").count() == 0
    assert owner_db.execute("SELECT quantity, reason_code FROM refund r JOIN customer_order o ON o.id = r.order_id "
                            "WHERE o.number = %s ORDER BY r.created_at", (order["number"],)).fetchall() == [
        (2, "DAMAGED"), (3, "CUSTOMER_REQUEST")]
    assert not tab.has_horizontal_overflow()
