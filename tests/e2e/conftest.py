"""A real headless Chromium (Debian's `chromium`, never a downloaded browser) driven by Playwright,
against the real service served by the `api_url` fixture (real PostgreSQL and Redis)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {"width": 360, "height": 740}


# Module scope: Playwright's sync API keeps an event loop registered in the main thread while it
# runs, which would break other modules' asyncio.run() if the browser outlived its module.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (tests/system_deps.py)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Page:
    """A browser tab on the web client, at phone size unless told otherwise, failing the test on any
    uncaught script error."""

    def __init__(
        self, browser: Any, base_url: str, viewport: dict | None = None, locale: str = "en-US",
        timezone_id: str = "Asia/Shanghai",
    ) -> None:
        self.base_url = base_url
        # The tenants' zone: operators and leaders work in it (dates the screens default to are theirs).
        self.context = browser.new_context(
            viewport=viewport or PHONE, locale=locale, accept_downloads=True, service_workers="block",
            timezone_id=timezone_id,
        )
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # Whatever the Content-Security-Policy blocks (an inline style or script) is an error too.
        self.page.on("console", lambda m: m.type == "error" and "Content Security Policy" in m.text
                     and self.errors.append(m.text))
        self.page.set_default_timeout(15000)

    def open(self, route: str = "", query: str = "") -> Any:
        self.page.goto(f"{self.base_url}/app/{query}#/{route}")
        return self.page

    def sign_in(self, slug: str, login: str, password: str) -> Any:
        page = self.open("signin", f"?tenant={slug}")
        page.fill("#login", login)
        page.fill("#password", password)
        page.press("#password", "Enter")
        page.wait_for_selector("#sign-out")
        return page

    def set_session(self, token: str, slug: str, lang: str | None = None) -> None:
        """Starts signed in, as if the user had signed in earlier (localStorage); then open() a route."""
        self.page.goto(f"{self.base_url}/app/#/schema")
        self.page.evaluate(
            "([s, lang]) => { localStorage.setItem('groupbuy.session', s);"
            " if (lang) localStorage.setItem('groupbuy.lang', lang); }",
            [json.dumps({"token": token, "slug": slug}), lang],
        )
        self.page.goto("about:blank")

    def has_horizontal_overflow(self) -> bool:
        return bool(
            self.page.evaluate(
                "() => document.documentElement.scrollWidth > document.documentElement.clientWidth + 1"
            )
        )

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def web(browser: Any, api_url: str) -> Iterator[Any]:
    """web() -> a new tab (Page); each has its own storage, like a separate phone."""
    pages: list[Page] = []

    def make(**kw: Any) -> Page:
        p = Page(browser, api_url, **kw)
        pages.append(p)
        return p

    yield make
    for p in pages:
        p.close()
    errors = [e for p in pages for e in p.errors]
    assert not errors, f"uncaught errors in the page: {errors}"
