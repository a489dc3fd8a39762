"""The leader client's language is also the user's message language: signing in from an English
page adopts English (the user had none), and the language switch saves the choice, so e-mails
reach them in the language they read the app in."""

from __future__ import annotations

import time

ME = "{ me { messageLanguage } }"


def _message_language(gql, token: str, wanted: str) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 10
    while (found := gql.data(ME, token=token)["me"]["messageLanguage"]) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return str(found)


def test_sign_in_adopts_the_pages_language_and_the_switch_saves_it(web, gql, make_tenant):  # type: ignore[no-untyped-def]
    tenant = make_tenant(timezone="Asia/Shanghai")
    assert gql.data(ME, token=tenant.admin_token)["me"]["messageLanguage"] == "zh-CN"  # the tenant's, by default
    page = web(locale="en-US").sign_in(tenant.slug, tenant.admin_email, tenant.admin_password)
    assert _message_language(gql, tenant.admin_token, "en") == "en"
    page.select_option("#lang", "zh-CN")
    page.wait_for_function("() => document.documentElement.lang === 'zh-CN'")
    assert _message_language(gql, tenant.admin_token, "zh-CN") == "zh-CN"
    page.select_option("#lang", "en")
    assert _message_language(gql, tenant.admin_token, "en") == "en"
