"""The web client's shell against the real service: sign in, languages, expired sessions, network
failures, phone-width layout, keyboard use, and every screen failing gracefully where its API is
missing or refuses."""

from __future__ import annotations

import re
import time

import jwt

ROUTES = ["today", "orders", "pickup", "groups", "commissions", "purchase-orders"]


def test_sign_in_wrong_password_then_right(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    page = tab.open("signin", f"?tenant={tenant.slug}")
    assert page.locator("h1").inner_text() == "Sign in"
    assert page.locator("#slug").count() == 0  # the address names the tenant: nothing to type
    page.fill("#login", tenant.admin_email)
    page.fill("#password", "not-the-password")
    page.click("button[type=submit]")
    alert = page.locator(".form-status .notice.error")
    alert.wait_for()
    assert alert.inner_text() == "Wrong phone/e-mail or password."
    assert page.input_value("#login") == tenant.admin_email  # what was typed is kept
    assert page.evaluate("localStorage.getItem('groupbuy.session')") is None or "token" not in page.evaluate(
        "localStorage.getItem('groupbuy.session')"
    )

    page.fill("#password", tenant.admin_password)
    page.click("button[type=submit]")
    page.wait_for_selector("#sign-out")
    assert page.url.endswith("#/console/today")  # an admin gets the console
    stored = page.evaluate("JSON.parse(localStorage.getItem('groupbuy.session'))")
    assert stored["slug"] == tenant.slug and stored["token"]
    assert page.locator(".brand-name").inner_text() == f"Tenant {tenant.slug}"
    menu = page.locator("nav.menu a").all_inner_texts()
    assert menu == ["Today", "Leaders", "Catalog", "Batches", "Orders", "Coupons", "Reports", "Integrations",
                    "Settings", "Activity", "Withdrawals"]

    page.click("#sign-out")
    page.wait_for_selector("#login")
    assert "token" not in page.evaluate("JSON.parse(localStorage.getItem('groupbuy.session'))")


def test_sign_in_with_unknown_tenant_says_so(web):  # type: ignore[no-untyped-def]
    page = web().open("signin")
    page.fill("#slug", "no-such-brand")
    page.fill("#login", "someone@example.com")
    page.fill("#password", "whatever-1")
    page.click("button[type=submit]")
    alert = page.locator(".form-status .notice.error")
    alert.wait_for()
    assert "tenant" in alert.inner_text().lower()


def test_sign_in_by_keyboard_only(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    page = web().open("signin")
    page.focus("#slug")
    page.keyboard.type(tenant.slug)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "login"
    page.keyboard.type(tenant.admin_email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(tenant.admin_password)
    page.keyboard.press("Enter")
    page.wait_for_selector("#sign-out")


def test_the_browsers_language_until_the_user_chooses(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    tab = web(locale="en-US")  # an English browser, a Chinese tenant: English, also after signing in
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.wait_for_function("() => document.querySelector('h1')?.textContent === 'Sign in'")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.fill("#login", tenant.admin_email)
    page.select_option("#lang", "zh-CN")
    page.wait_for_function("() => document.querySelector('h1')?.textContent === '登录'")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("label[for=password]").inner_text() == "密码"
    assert page.input_value("#login") == tenant.admin_email  # switching language keeps what was typed
    page.select_option("#lang", "en")
    page.wait_for_function("() => document.querySelector('h1')?.textContent === 'Sign in'")

    page.fill("#password", tenant.admin_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    assert page.locator("h1").inner_text() == "Today"
    page.select_option("#lang", "zh-CN")
    page.wait_for_function("() => document.querySelector('h1')?.textContent === '今日概览'")
    page.reload()
    page.wait_for_selector("#sign-out")
    assert page.locator("h1").inner_text() == "今日概览"  # the choice outlives the browser's language
    assert page.locator("nav.menu a").first.inner_text() == "今日"


def test_a_chinese_browser_stays_chinese_for_any_tenant(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="America/New_York")
    tab = web(locale="zh-CN")
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.wait_for_function("() => document.querySelector('h1')?.textContent === '登录'")
    page.wait_for_selector(f"text=平台：Tenant {tenant.slug}")


def _expired_token(token: str) -> str:
    from service.config import get_settings

    claims = jwt.decode(token, options={"verify_signature": False})
    claims.update(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    return jwt.encode(claims, get_settings().jwt_secret_value, algorithm="HS256")


def test_expired_token_goes_back_to_sign_in(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    tab.set_session(_expired_token(tenant.admin_token), tenant.slug)
    page = tab.open("orders")
    page.wait_for_selector("#login")
    assert page.locator(".notice.warning").inner_text() == "Your session has expired. Please sign in again."
    assert page.locator("#slug").count() == 0  # the tenant is remembered, the token is not
    assert page.evaluate("JSON.parse(localStorage.getItem('groupbuy.session'))")["slug"] == tenant.slug
    assert "token" not in page.evaluate("JSON.parse(localStorage.getItem('groupbuy.session'))")
    # signing in again returns to where the user was going
    page.fill("#login", tenant.admin_email)
    page.fill("#password", tenant.admin_password)
    page.press("#password", "Enter")
    page.wait_for_selector("#sign-out")
    assert page.url.endswith("#/orders")


def test_token_refused_while_using_the_app_goes_back_to_sign_in(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    tab.set_session(tenant.admin_token, tenant.slug)
    page = tab.open("today")
    page.wait_for_selector("#sign-out")
    # the token expires while the app is open: the next request is refused with TOKEN_EXPIRED
    page.evaluate(
        "([t, slug]) => localStorage.setItem('groupbuy.session', JSON.stringify({token: t, slug}))",
        [_expired_token(tenant.admin_token), tenant.slug],
    )
    page.click("nav.menu a[href='#/console/orders']")
    page.wait_for_selector("#login")
    assert "expired" in page.locator(".notice.warning").inner_text()


def test_network_failure_says_so_and_keeps_the_input(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.wait_for_selector(f"text=Tenant: Tenant {tenant.slug}")
    page.route("**/graphql", lambda route: route.abort("internetdisconnected"))
    page.fill("#login", tenant.admin_email)
    page.fill("#password", tenant.admin_password)
    page.click("button[type=submit]")
    alert = page.locator(".form-status .notice.error")
    alert.wait_for()
    assert alert.inner_text().startswith("Network error")
    assert page.input_value("#login") == tenant.admin_email
    assert page.input_value("#password") == tenant.admin_password
    page.unroute("**/graphql")
    page.click("button[type=submit]")  # the same input, once the network is back
    page.wait_for_selector("#sign-out")


def test_every_screen_renders_and_fails_gracefully(web, make_tenant):  # type: ignore[no-untyped-def]
    """Each screen settles: content, an empty state, or an error that says what failed, with a retry —
    never a spinner forever or an uncaught error (the `web` fixture fails on those)."""
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    tab.set_session(tenant.admin_token, tenant.slug)
    for route in ROUTES:
        page = tab.open(route)
        page.wait_for_selector("#sign-out")
        page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
        assert page.locator("main h1").count() == 1, route
        for box in page.locator("main .notice.error").all():
            assert box.locator("button", has_text="Retry").count() == 1, route
            assert box.inner_text().strip(), route
        assert page.locator("main .loading").count() == 0, route
        assert not tab.has_horizontal_overflow(), route


def test_server_error_page_is_explained(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    tab.set_session(tenant.admin_token, tenant.slug)
    page = tab.open("today")
    page.wait_for_selector("#sign-out")
    page.route(
        "**/graphql",
        lambda route: route.fulfill(status=502, body="<html>Bad gateway</html>", content_type="text/html"),
    )
    page.click("nav.menu a[href='#/console/leaders']")
    error = page.locator("main .notice.error")
    error.wait_for()
    assert "HTTP 502" in error.inner_text()
    page.unroute("**/graphql")


def test_phone_width_has_no_horizontal_overflow(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    tab = web()
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.wait_for_selector("#login")
    assert page.viewport_size == {"width": 360, "height": 740}
    assert not tab.has_horizontal_overflow()
    page = tab.open("schema")
    page.wait_for_selector("pre.sdl")
    assert not tab.has_horizontal_overflow()  # the long schema scrolls inside its own box


def test_controls_are_labelled(web, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    tab = web()
    tab.set_session(tenant.admin_token, tenant.slug)
    for route in ["signin", *ROUTES]:
        if route == "signin":
            page = tab.open("signin")
            page.evaluate("localStorage.clear()")
            page.reload()
            page.wait_for_selector("#login")
        else:
            page = tab.open(route)
            page.wait_for_selector("#sign-out")
            page.wait_for_function("() => !document.querySelector('main [aria-busy=true]')")
        unlabelled = page.evaluate("""() => [...document.querySelectorAll('input, select, button, textarea')]
            .filter(el => !el.hidden && el.type !== 'hidden')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
            .filter(el => !el.textContent.trim())
            .map(el => el.outerHTML)""")
        assert unlabelled == [], (route, unlabelled)
        if route == "signin":
            tab.set_session(tenant.admin_token, tenant.slug)


def test_developer_links_on_the_sign_in_page(web, make_tenant, api_url):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Europe/Berlin")
    page = web().open("signin", f"?tenant={tenant.slug}")
    assert page.get_attribute("#graphiql-link", "href") == "/graphql"
    page.click("#schema-link")
    sdl = page.locator("pre.sdl")
    sdl.wait_for()
    text = sdl.inner_text()
    assert (
        re.search(r"^type Query \{", text, re.M)
        and "tokenCreate(input: TokenCreateInput!): AuthPayload!" in text
    )


def test_dictionaries_have_the_same_keys(web):  # type: ignore[no-untyped-def]
    page = web().open("signin")
    page.wait_for_selector("#login")
    missing = page.evaluate("""async () => {
        const { dictionaries } = await import('./i18n.js');
        const zh = Object.keys(dictionaries['zh-CN']), en = Object.keys(dictionaries.en);
        return { onlyZh: zh.filter(k => !en.includes(k)), onlyEn: en.filter(k => !zh.includes(k)) };
    }""")
    assert missing == {"onlyZh": [], "onlyEn": []}


def test_the_client_needs_nothing_from_other_hosts(web, make_tenant, api_url):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    tab = web()
    requested: list[str] = []
    tab.page.on("request", lambda r: requested.append(r.url))
    page = tab.open("signin", f"?tenant={tenant.slug}")
    page.wait_for_selector("#login")
    tab.set_session(tenant.admin_token, tenant.slug)
    page = tab.open("groups")
    page.wait_for_selector("#sign-out")
    assert requested and all(u.startswith(api_url) or u.startswith("about:") for u in requested), requested


def test_tenant_from_the_address(web):  # type: ignore[no-untyped-def]
    page = web().open("signin")
    page.wait_for_selector("#login")
    found = page.evaluate("""async () => {
        const { tenantFromAddress } = await import('./session.js');
        const at = (href) => tenantFromAddress(new URL(href));
        return [at('https://fresh-mart.groupbuy.example/app/'), at('https://groupbuy.example/app/?tenant=Fresh-Mart'),
                at('http://127.0.0.1:8000/app/'), at('http://localhost:8000/app/'), at('https://www.groupbuy.example/app/'),
                at('https://app.groupbuy.example/app/')];
    }""")
    assert found == ["fresh-mart", "fresh-mart", None, None, None, None]
