"""The storefront's server side: its static files under the app's CSP, and the development payment
stand-in, which is absent in production and pays only the calling customer's own order."""

from __future__ import annotations

import os
import time
import uuid

import httpx
import pytest

from service.config import get_settings
from service.shop_web import DEV_KEYS, save_dev_key
from tests.e2e.scenario import build_shop, open_batch, place_order


def serve(app):  # type: ignore[no-untyped-def]
    from service.embedded import free_port
    from tests.conftest import ServerThread

    port = free_port()
    server = ServerThread(app, port)
    server.start()
    while not server.server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def test_dev_pay_is_absent_in_production(services) -> None:  # type: ignore[no-untyped-def]
    from service.app import create_app

    save_dev_key("prod-shop", "gbk_not-used")
    previous = os.environ.get("GROUPBUY_ENV")
    os.environ["GROUPBUY_ENV"] = "production"
    get_settings.cache_clear()
    try:
        server, base = serve(create_app())
    finally:
        os.environ["GROUPBUY_ENV"] = previous or "test"
        get_settings.cache_clear()
    try:
        assert httpx.get(f"{base}/shop/prod-shop/").status_code == 200  # the storefront itself is served
        for method in ("GET", "POST"):
            answer = httpx.request(method, f"{base}/shop/prod-shop/dev-pay", json={"orderId": "x"})
            assert answer.status_code in (404, 405), (method, answer.status_code)
            assert "available" not in answer.text
    finally:
        server.stop()
    server, base = serve(create_app())  # the same app outside production has it
    try:
        assert httpx.get(f"{base}/shop/prod-shop/dev-pay").json() == {"available": True}
    finally:
        server.stop()
        (services.data_dir / DEV_KEYS / "prod-shop").unlink()


def test_storefront_files_and_their_headers(api_url: str) -> None:
    page = httpx.get(f"{api_url}/shop/demo/")
    assert page.status_code == 200 and '<script type="module" src="main.js">' in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{api_url}/shop/demo/main.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(f"{api_url}/shop/demo").headers["location"] == "/shop/demo/"
    for path in ("/shop/demo/..%2F__init__.py", "/shop/demo/__init__.py", "/shop/Bad_Slug/main.js",
                 "/shop/demo/.hidden.js"):
        assert httpx.get(f"{api_url}{path}").status_code == 404, path


@pytest.mark.parametrize("who", ["anonymous", "another customer"])
def test_dev_pay_pays_only_the_callers_own_order(api_url, gql, make_tenant, make_customer, who) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PREPAID")
    shop = build_shop(gql, tenant, make_customer)
    open_batch(gql, shop)
    order = place_order(gql, shop, make_customer(tenant), [(0, 1)])
    save_dev_key(tenant.slug, tenant.api_key)
    headers = {} if who == "anonymous" else {"authorization": f"Bearer {make_customer(tenant).token}"}
    answer = httpx.post(f"{api_url}/shop/{tenant.slug}/dev-pay", json={"orderId": order["id"]}, headers=headers)
    assert answer.status_code == 404
    status = gql.data("query($id: ID!) { order(id: $id) { status } }", {"id": order["id"]},
                      token=tenant.admin_token)["order"]["status"]
    assert status == "PENDING_PAYMENT"
    assert httpx.post(f"{api_url}/shop/{tenant.slug}/dev-pay", json={"order": uuid.uuid4().hex},
                      headers=headers).status_code == 400
