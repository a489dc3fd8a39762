"""The storefront's routes: its static files, and the development payment stand-in (see the
package's docstring)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from service.config import get_settings
from service.shop_web import dev_key_path

STATIC = Path(__file__).resolve().parent / "static"
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_FILE = re.compile(r"^[a-z0-9-]+\.(js|css|html)$")
_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
          "html": "text/html; charset=utf-8"}


async def page(request: Request) -> Response:
    slug, name = request.path_params["slug"], request.path_params.get("file") or "index.html"
    # One flat folder of known file types: nothing else is reachable (no "..", no dot files).
    if not SLUG.match(slug) or not _FILE.match(name) or not (STATIC / name).is_file():
        return Response("not found", status_code=404, media_type="text/plain")
    # Pages and modules change with the service: the browser asks again rather than mixing versions.
    return FileResponse(STATIC / name, media_type=_TYPES[name.rsplit(".", 1)[1]],
                        headers={"cache-control": "no-cache"})


async def to_folder(request: Request) -> Response:
    return RedirectResponse(f"/shop/{request.path_params['slug']}/")


_ORDER = "query ShopDevOrder($id: ID!) { order(id: $id) { id } }"
_MARK_PAID = """mutation ShopDevMarkPaid($id: ID!, $ref: String!) {
  orderMarkPaid(id: $id, paymentReference: $ref) { order { id status paidAt } errors { code field message } }
}"""


async def dev_pay(request: Request) -> Response:
    """Development only: pays an order of the calling customer, as the brand's back end would when
    its payment provider reports success. GET tells the storefront the stand-in is there."""
    slug = request.path_params["slug"]
    key_file = dev_key_path(slug)
    if not SLUG.match(slug) or not key_file.is_file():
        return JSONResponse({"available": False}, status_code=404)
    if request.method == "GET":
        return JSONResponse({"available": True})
    try:
        order_id = str((await request.json())["orderId"])
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": "send {\"orderId\": ...}"}, status_code=400)
    host, port = request.scope["server"]
    endpoint = f"http://{host}:{port}/graphql"
    # The customer's own token must see the order: nobody pays someone else's order here.
    _, seen = await _post(endpoint, _ORDER, {"id": order_id}, request.headers.get("authorization", ""))
    if not ((seen.get("data") or {}).get("order")):
        return JSONResponse({"error": "no such order for this customer"}, status_code=404)
    api_key = key_file.read_text().strip()
    status, paid = await _post(endpoint, _MARK_PAID, {"id": order_id, "ref": f"dev-{secrets.token_hex(8)}"},
                               f"Bearer {api_key}")
    return JSONResponse(paid.get("data") or paid, status_code=status)


async def _post(endpoint: str, query: str, variables: dict[str, Any], authorization: str) -> tuple[int, dict]:
    """One GraphQL call over HTTP, as the brand's back end makes it (the standard library: this
    development-only path adds no dependency)."""
    body = json.dumps({"query": query, "variables": variables}).encode()
    headers = {"content-type": "application/json", "authorization": authorization}

    def send() -> tuple[int, dict]:
        request = urllib.request.Request(endpoint, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (our own loopback URL)
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, {"error": text[:200]}

    return await asyncio.to_thread(send)


def routes() -> list[Route]:
    dev = [Route("/shop/{slug}/dev-pay", dev_pay, methods=["GET", "POST"])] if get_settings().is_dev else []
    return [
        *dev,
        Route("/shop/{slug}", to_folder),
        Route("/shop/{slug}/", page),
        Route("/shop/{slug}/{file}", page),
    ]
