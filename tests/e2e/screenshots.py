"""Screenshots of the web client's main screens at phone width (360×740) for docs/screenshots/.

    .venv/bin/python -m tests.e2e.screenshots [--lang zh-CN|en]

Needs no database: the static files are served from service/web/ and /graphql is the contract-shaped
stand-in of tests/e2e/fake_api.py, both through Playwright's routing, in Debian's chromium."""

from __future__ import annotations

import argparse
import json
import mimetypes
from pathlib import Path

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE
from tests.e2e.fake_api import FakeApi

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "service" / "web"
OUT = ROOT / "docs" / "screenshots"
ORIGIN = "http://groupbuy.localhost"


def serve_static(route) -> None:  # type: ignore[no-untyped-def]
    path = route.request.url.split("#")[0].split("?")[0][len(ORIGIN) + len("/app/") :] or "index.html"
    file = (WEB / path).resolve()
    if WEB not in file.parents or not file.is_file():
        route.fulfill(status=404, body="not found")
        return
    kind = (
        "text/javascript"
        if file.suffix == ".js"
        else mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    )
    route.fulfill(status=200, body=file.read_bytes(), content_type=kind)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lang", default="zh-CN", choices=["zh-CN", "en"])
    lang = parser.parse_args().lang
    suffix = "" if lang == "zh-CN" else "-en"
    OUT.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)

        def tab(api: FakeApi, signed_in: bool = True):  # type: ignore[no-untyped-def]
            context = browser.new_context(viewport=PHONE, locale=lang, service_workers="block")
            page = context.new_page()
            page.route(f"{ORIGIN}/app/**", serve_static)
            api.install(page)
            page.goto(f"{ORIGIN}/app/#/schema")
            page.evaluate(
                "([s, l]) => { if (s) localStorage.setItem('groupbuy.session', s);"
                " localStorage.setItem('groupbuy.lang', l); }",
                [json.dumps({"token": "t", "slug": "fresh"}) if signed_in else None, lang],
            )
            return page

        def shoot(page, route: str, name: str, before=None) -> None:  # type: ignore[no-untyped-def]
            page.goto("about:blank")
            page.goto(f"{ORIGIN}/app/{'?tenant=fresh' if route == 'signin' else ''}#/{route}")
            page.wait_for_selector("main h1")
            page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
            if before:
                before(page)
            page.wait_for_timeout(300)
            page.screenshot(path=str(OUT / f"{name}{suffix}.png"), full_page=True)
            print("wrote", OUT / f"{name}{suffix}.png")

        leader = FakeApi()
        shoot(tab(leader, signed_in=False), "signin", "01-sign-in")
        page = tab(leader)
        shoot(page, "today", "02-today")
        shoot(page, "orders", "03-orders")
        shoot(page, f"picklist/{leader.closed_batch['id']}/{leader.point['id']}", "04-pick-list")

        def confirm(pg) -> None:  # type: ignore[no-untyped-def]
            pg.fill("#pickup-code", "123456")
            pg.press("#pickup-code", "Enter")
            pg.wait_for_selector("#pickup-feedback .result")

        def wrong(pg) -> None:  # type: ignore[no-untyped-def]
            pg.fill("#pickup-code", "000000")
            pg.press("#pickup-code", "Enter")
            pg.wait_for_selector("#pickup-feedback .result")

        leader.arrive()  # the goods arrived ("Goods arrived" on the pick list): pickups can be confirmed
        shoot(page, "pickup", "05-pickup-confirmed", confirm)
        shoot(page, "pickup", "06-pickup-wrong-code", wrong)
        def by_tail(pg) -> None:  # type: ignore[no-untyped-def]
            pg.click("#mode-tail")
            pg.fill("#pickup-code", leader.orders[-1]["customerPhone"][-4:])
            pg.press("#pickup-code", "Enter")
            pg.wait_for_selector("#pickup-feedback section.customer")

        def remind(pg) -> None:  # type: ignore[no-untyped-def]
            pg.click("#remind-all")
            pg.wait_for_selector("#remind-status .notice")

        def by_seq(pg) -> None:  # type: ignore[no-untyped-def]
            pg.click("#mode-seq")
            pg.wait_for_selector("#pickup-batch")
            pg.fill("#pickup-code", str(leader.orders[1]["batchSequence"]))
            pg.press("#pickup-code", "Enter")
            pg.wait_for_selector("#pickup-feedback section.customer")

        def handed_over(pg) -> None:  # type: ignore[no-untyped-def]
            by_tail(pg)
            pg.click("#pickup-feedback button.handover-all")
            pg.wait_for_selector("#pickup-feedback .result.ok")

        shoot(page, "remind", "11-remind", remind)
        shoot(page, "pickup", "12-pickup-by-phone-tail", by_tail)
        shoot(page, "pickup", "13-pickup-by-batch-number", by_seq)
        shoot(page, "pickup", "14-pickup-handed-over", handed_over)
        shoot(page, "groups", "07-groups")
        shoot(page, "commissions", "08-commissions", lambda pg: pg.locator("details summary").first.click())
        supplier = FakeApi(roles=["SUPPLIER"])
        page = tab(supplier)
        shoot(page, "purchase-orders", "09-purchase-orders")
        shoot(page, f"purchase-order/{supplier.pos[0]['id']}", "10-purchase-order")
        browser.close()


if __name__ == "__main__":
    main()
