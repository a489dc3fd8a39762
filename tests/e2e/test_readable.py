"""Readable and tappable, in Chinese and in English, at 390 px: on every leader screen (and the
supplier's), every tap target is at least 44×44 px and every text at least 14 px, badges
included; the header's brand and tools fit one row and its menu one more."""

from __future__ import annotations

import pytest

from tests.e2e.scenario import build_shop, close_batch, open_batch, place_order

DELIVERY_RECEIVE = "mutation($b: ID!, $p: ID!) { deliveryReceive(batchId: $b, pickupPointId: $p) { receivedAt } }"
NARROW = {"width": 390, "height": 844}

# What is too small on the page: [description, width, height] of tap targets, [text, px] of texts.
CHECK = """() => {
  const shown = (el) => {
    const r = el.getBoundingClientRect(), s = getComputedStyle(el);
    return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && !el.closest('[hidden], .visually-hidden, .skip');
  };
  const name = (el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} "${(el.textContent || el.value || '').trim().slice(0, 30)}"`;
  const small = [];
  for (const el of document.querySelectorAll('a[href], button, select, input:not([type=hidden]), summary, textarea, [role=button]')) {
    if (!shown(el)) continue;
    const holder = el.matches('input[type=checkbox], input[type=radio]') && el.closest('label') ? el.closest('label') : el;
    const r = holder.getBoundingClientRect();
    if (r.width < 43.5 || r.height < 43.5) small.push(['target', name(el), Math.round(r.width), Math.round(r.height)]);
  }
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !shown(el) || el.closest('svg, noscript, option')) continue;
    const px = parseFloat(getComputedStyle(el).fontSize);
    if (px < 13.95) small.push(['text', name(el), px]);
  }
  return small;
}"""
HEADER_ROWS = """() => {
  const top = (el) => Math.round(el.getBoundingClientRect().top);
  const brand = document.querySelector('.topbar .brand'), tools = document.querySelector('.topbar .tools');
  const items = [...document.querySelectorAll('.topbar .menu li')];
  return { brandAndTools: Math.abs(top(brand) - top(tools)) <= 8 && Math.abs(brand.getBoundingClientRect().bottom - tools.getBoundingClientRect().bottom) <= 24,
           menuRows: new Set(items.map(top)).size,
           overflow: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1 };
}"""


@pytest.fixture
def counter_shop(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai", paymentMode="PAY_AT_PICKUP")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    alice, bob = make_customer(tenant, "王阿姨"), make_customer(tenant, "李先生")
    place_order(gql, shop, alice, [(0, 2)])
    place_order(gql, shop, bob, [(1, 1)])
    close_batch(gql, shop)
    gql.data(DELIVERY_RECEIVE, {"b": shop.batch_id, "p": shop.point_id}, token=shop.leader_token)
    return shop, alice


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_leader_screen_is_readable_and_tappable(web, counter_shop, language):  # type: ignore[no-untyped-def]
    shop, alice = counter_shop
    tab = web(viewport=NARROW, locale=language)
    tab.set_session(shop.leader_token, shop.tenant.slug, lang=language)
    page = tab.page
    base = f"{tab.base_url}/app/{shop.tenant.slug}/"
    problems: dict[str, list] = {}

    def check(screen: str) -> None:
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => !document.querySelector('main [aria-busy=true], main .loading')")
        found = page.evaluate(CHECK)
        if found:
            problems[screen] = found

    screens = ["today", "orders", f"picklist/{shop.batch_id}/{shop.point_id}", "pickup", "remind", "groups",
               "commissions", "share", "money", "aftersales"]
    for screen in screens:
        page.goto(f"{base}#/{screen}")
        check(screen)
        header = page.evaluate(HEADER_ROWS)
        assert header == {"brandAndTools": True, "menuRows": 1, "overflow": False}, (screen, header)
    # The pickup screen's other states: a customer found by phone tail, then handed over.
    page.goto(f"{base}#/pickup")
    page.wait_for_selector("#mode-tail")
    page.click("#mode-tail")
    page.fill("#pickup-code", alice.phone[-4:])
    page.press("#pickup-code", "Enter")
    page.locator("#pickup-feedback section.customer").wait_for()
    check("pickup: customer found")
    page.click("#pickup-feedback button.handover-all")
    page.locator("#pickup-feedback .result.ok").wait_for()
    check("pickup: handed over")
    # Signed out: the sign-in screen.
    page.click("#sign-out")
    page.wait_for_selector("#login")
    found = page.evaluate(CHECK)
    if found:
        problems["signin"] = found
    # The supplier's screens: the purchase orders and one of them.
    page.fill("#login", shop.supplier_login)
    page.fill("#password", shop.supplier_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    page.goto(f"{base}#/purchase-orders")
    check("purchase-orders")
    assert page.evaluate(HEADER_ROWS)["brandAndTools"] is True
    page.locator("main a[data-number]").first.click()
    page.wait_for_function("() => location.hash.startsWith('#/purchase-order/')")
    check("purchase-order")
    assert problems == {}
