"""Readable and tappable, in Chinese and in English, at 390 px: on every leader screen (and the
supplier's), every tap target is at least 44×44 px and every text at least 14 px, badges
included; the header's brand and tools fit one row and its menu one more; no word of the other
language besides the data's own names."""

from __future__ import annotations

import re

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


# Every text shown (text nodes, and the text of inputs' placeholders and buttons' values).
TEXTS = """() => {
  const texts = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    // aria-hidden: the brand's mark (团), a picture rather than a word
    if (!node.textContent.trim() || !el || el.closest('[hidden], [aria-hidden=true], svg, noscript, option, script, style')) continue;
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.height > 0) texts.push(node.textContent.trim());
  }
  for (const el of document.querySelectorAll('input[placeholder], [aria-label]')) {
    texts.push(el.getAttribute('placeholder') || el.getAttribute('aria-label'));
  }
  return texts;
}"""
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ENGLISH_WORDS = re.compile(r"[A-Za-z]{2,}(?:[ ,.:'’-]+[A-Za-z]{2,})+")
KEY = re.compile(r"\b[a-z]{2,}(?:\.[a-z][A-Za-z]+)+\b")  # a dictionary key shown for want of its text
# The scenario's own names, in whatever language they were entered: data, not the client's words.
DATA = ["丹东绿源果业", "丹东草莓", "500g 盒", "土鸡蛋", "30 枚", "陈姐", "幸福里 3 号门便利店", "幸福路 88 号",
        "周五鲜果团", "王阿姨", "李先生", "farm@example.com"]


def other_language(texts: list[str], language: str, data: list[str]) -> list[str]:
    """The texts holding a word of the other language (or a dictionary key) once the data's names are
    taken out."""
    found = []
    for text in texts:
        rest = text
        for name in sorted(data, key=len, reverse=True):
            rest = rest.replace(name, " ")
        if KEY.search(rest) or (CJK.search(rest) if language == "en" else ENGLISH_WORDS.search(rest)):
            found.append(text)
    return found


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
    data = [*DATA, f"Tenant {shop.tenant.slug}", shop.tenant.slug]

    def check(screen: str) -> None:
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => !document.querySelector('main [aria-busy=true], main .loading')")
        found = page.evaluate(CHECK) + other_language(page.evaluate(TEXTS), language, data)
        if found:
            problems[screen] = found

    screens = ["today", "orders", f"picklist/{shop.batch_id}/{shop.point_id}", "pickup", "remind", "groups",
               "commissions", "share", "money", "aftersales", "my-point", "coupons"]
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
    found = page.evaluate(CHECK) + other_language(page.evaluate(TEXTS), language, data)
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
