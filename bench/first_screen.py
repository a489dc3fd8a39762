"""The leader's first screen on a slow network: Chromium (Debian's) at phone size with a 2.5 s
round trip added to every request (CDP network emulation, so requests in flight overlap as on a
real link), the demo leader signed in, from navigation to a usable 今日 (its areas loaded). Cold:
an empty browser cache; warm: the next visit (HTTP cache and service worker).

    python -m bench.first_screen [--runs 3] [--latency-ms 2500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from typing import Any

import httpx

from bench.common import free_port, log, servers, start_api, summary

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run"]
PHONE = {"width": 390, "height": 844}
USABLE = """() => {
  const main = document.querySelector('main.page-today');
  return !!main && !main.querySelector('[aria-busy=true], .loading') && !!document.querySelector('#sign-out');
}"""
TOKEN_CREATE = "mutation($i: TokenCreateInput!) { tokenCreate(input: $i) { token errors { code } } }"


def leader_token(base: str, slug: str, login: str, password: str) -> str:
    body = httpx.post(f"{base}/graphql", json={"query": TOKEN_CREATE, "variables": {"i": {"login": login, "password": password}}},
                      headers={"X-Tenant": slug}, timeout=30).json()
    return str(body["data"]["tokenCreate"]["token"])


def measure(base: str, slug: str, token: str, latency_ms: int, runs: int) -> dict[str, Any]:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    cold: list[float] = []
    warm: list[float] = []
    requests: list[int] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for _ in range(runs):
            context = browser.new_context(viewport=PHONE, locale="zh-CN")
            page = context.new_page()
            page.goto(f"{base}/app/#/schema")
            page.evaluate("([t, s]) => localStorage.setItem('groupbuy.session', JSON.stringify({token: t, slug: s}))",
                          [token, slug])
            page.goto("about:blank")
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.clearBrowserCache")
            cdp.send("Network.emulateNetworkConditions", {"offline": False, "latency": latency_ms,
                                                           "downloadThroughput": -1, "uploadThroughput": -1})
            seen: list[str] = []
            page.on("request", lambda r, seen=seen: seen.append(r.url))
            for bucket in (cold, warm):
                seen.clear()
                started = time.monotonic()
                page.goto(f"{base}/app/#/today", wait_until="commit")
                page.wait_for_function(USABLE, timeout=120_000)
                bucket.append(round(time.monotonic() - started, 2))
                if bucket is cold:
                    requests.append(len(seen))
                    # The next visit: once the service worker (where there is one) is installed and
                    # controls the page (it claims its clients). A predicate answering a promise would
                    # pass at once (a promise is truthy), before the worker was even registered.
                    try:
                        page.wait_for_function("() => !!navigator.serviceWorker && navigator.serviceWorker.controller !== null",
                                               timeout=60_000, polling=500)
                    except PlaywrightTimeout:
                        pass
                    page.goto("about:blank")
            context.close()
        browser.close()
    return {"latency_ms": latency_ms, "cold_seconds": summary(cold), "warm_seconds": summary(warm),
            "cold_runs": cold, "warm_runs": warm, "cold_requests": requests}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=int, default=2500)
    a = parser.parse_args()
    from service.demo import DemoLogins, seed_tenant

    with servers("first_screen") as env:
        assert env.tenant_id is not None
        logins = asyncio.run(seed_tenant(env.tenant_id, DemoLogins(env.tenant_slug)))
        leader = next((login, password) for role, login, password in logins.logins if role.lower().startswith("leader"))
        port = free_port()
        start_api(env, port=port, workers=1)
        base = f"http://127.0.0.1:{port}"
        token = leader_token(base, env.tenant_slug, *leader)
        result = measure(base, env.tenant_slug, token, a.latency_ms, a.runs)
        log(json.dumps(result))
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
