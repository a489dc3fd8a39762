"""The leader's after-sales queue (售后) in Chromium against the real service: a customer's
request (made through the API) is shown with its reason, note and photos, approved for part of
it, and the next one rejected with a reason; in English and Chinese, at phone width. Saves
docs/screenshots/aftersales-en.png and aftersales-zh-CN.png."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.test_aftersales import _ask, _picked_up

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SETTLED = "() => document.querySelector('main') && !document.querySelector('main [aria-busy=true]')"


def test_the_leader_approves_part_of_one_request_and_rejects_another(web, gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    # In a thread of its own: the browser's event loop runs in this one (the fixtures run asyncio).
    with ThreadPoolExecutor(1) as pool:
        closed, customer, order = pool.submit(_picked_up, gql, owner_db, tenant, make_customer, 6, "12.50").result()
    line = order["lines"][0]["id"]
    asked = _ask(gql, customer, line, 3, note="三盒草莓压坏了 three boxes crushed",
                 photoUrls=["https://img.example.com/a.jpg", "https://img.example.com/b.jpg"])
    assert asked["errors"] == []

    tab = web()
    tab.set_session(closed.world.leader_token, tenant.slug, lang="en")
    page = tab.open("aftersales")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    card = page.locator("article.after-sales").first
    text = card.inner_text()
    assert "Product 0" in text and "Asks to refund 3 of 6" in text and "Quality problem" in text
    assert "three boxes crushed" in text and card.locator(".as-photos a").count() == 2
    assert card.locator(".as-photos a").first.get_attribute("rel") == "noopener noreferrer"
    for button in card.locator("button").all():
        box = button.bounding_box()
        assert box is not None and box["height"] >= 44, box
    assert not tab.has_horizontal_overflow()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "aftersales-en.png"), full_page=True)

    # Rejecting needs a reason; approving 2 of the 3 refunds them at once.
    card.locator(".as-reject").click()
    assert "Say why it is rejected." in card.locator(".as-status").inner_text()
    card.locator(".as-quantity").fill("2")
    card.locator(".as-approve").click()
    page.wait_for_function("() => document.querySelector('article.after-sales').dataset.status === 'APPROVED'")
    assert "Approved: 2 refunded" in page.locator("article.after-sales").first.inner_text()
    refunded = owner_db.execute("SELECT refunded_quantity FROM order_line l JOIN customer_order o ON o.id = "
                                "l.order_id WHERE o.number = %s", (order["number"],)).fetchone()[0]
    assert refunded == 2

    # In Chinese: the next request, rejected with a reason.
    assert _ask(gql, customer, line, 1, note="不新鲜")["errors"] == []
    tab.set_session(closed.world.leader_token, tenant.slug, lang="zh-CN")
    page = tab.open("aftersales")
    page.wait_for_selector("#sign-out")
    page.wait_for_function(SETTLED)
    card = page.locator("article.after-sales").first
    assert "申请退 1 件（共 6 件）" in card.inner_text() and "质量问题" in card.inner_text()
    assert page.locator("nav.menu").inner_text().count("售后") == 1
    page.screenshot(path=str(SHOTS / "aftersales-zh-CN.png"), full_page=True)
    card.locator(".as-reason").fill("照片看不出问题")
    card.locator(".as-reject").click()
    page.wait_for_function("() => document.querySelector('article.after-sales').dataset.status === 'REJECTED'")
    assert "已拒绝：照片看不出问题" in page.locator("article.after-sales").first.inner_text()
    # Filtering by status: nothing is waiting now.
    page.select_option("#as-status", "REQUESTED")
    page.wait_for_function("() => location.hash.includes('status=REQUESTED') && document.querySelector('.empty')")
    assert "没有售后申请" in page.locator("main").inner_text()
