"""The storefront's routes: its static files, and the development payment stand-in (see the
package's docstring)."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from service import global_id
from service.config import get_settings
from service.db import tenant_transaction
from service.errors import UserErrors
from service.growth import exports as growth_exports
from service.growth import links, poster
from service.growth.queries import sharer_report
from service.reports.queries import check_period
from service.shop_web import dev_key_path
from service.tenants.resolution import tenant_by_id, tenant_by_slug

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


async def share_poster(request: Request) -> Response:
    """GET /shop/<slug>/share/<code>/poster.png: the share poster. The code is the capability (as
    the shareCode query, which anyone may ask): another tenant's code, or none, is a 404."""
    not_found = Response("not found", status_code=404, media_type="text/plain")
    slug, code = request.path_params["slug"], request.path_params["code"]
    tenant = await tenant_by_slug(slug) if SLUG.match(slug) else None
    if tenant is None:
        return not_found
    async with tenant_transaction(tenant.id) as session:
        share = await links.by_code(session, tenant_id=tenant.id, code=code)
        if share is None:
            return not_found
        url = links.url_of(tenant, share, str(request.base_url))
        data = await poster.poster_data(session, tenant=tenant, share=share, url=url)
    png = await asyncio.to_thread(poster.render, data)
    headers = {"cache-control": "private, max-age=300"}
    if not poster.font_available():
        headers["x-poster-font"] = "fallback"  # Chinese glyphs missing: fonts-wqy-microhei is not installed
    return Response(png, media_type="image/png", headers=headers)


async def sharer_report_csv(request: Request) -> Response:
    """GET /exports/sharer-report.csv?from=&to=&tenant=&expires=&signature=: sharerReport's rows,
    with its signed link (csvUrl)."""
    params = request.query_params
    try:
        day_from, day_to = date.fromisoformat(params["from"]), date.fromisoformat(params["to"])
        tenant_id, expires = UUID(params["tenant"]), int(params["expires"])
        signature = params["signature"]
    except (KeyError, ValueError):
        return JSONResponse({"error": "LINK_EXPIRED_OR_INVALID"}, status_code=403)
    if not growth_exports.signature_valid(tenant_id, day_from, day_to, expires, signature):
        return JSONResponse({"error": "LINK_EXPIRED_OR_INVALID"}, status_code=403)
    tenant = await tenant_by_id(tenant_id)
    if tenant is None:
        return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    try:
        check_period(day_from, day_to)
    except UserErrors as e:
        return JSONResponse({"error": "INVALID", "message": str(e)}, status_code=400)
    async with tenant_transaction(tenant_id) as session:
        rows = await sharer_report(session, tenant_id=tenant_id, day_from=day_from, day_to=day_to)
    body = growth_exports.report_csv(rows, tenant.currency, [global_id.encode("User", r.sharer_id) for r in rows])
    name = f"sharers-{day_from.isoformat()}-{day_to.isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"content-disposition": f'attachment; filename="{name}"'})


def routes() -> list[Route]:
    dev = [Route("/shop/{slug}/dev-pay", dev_pay, methods=["GET", "POST"])] if get_settings().is_dev else []
    return [
        *dev,
        Route("/shop/{slug}/share/{code}/poster.png", share_poster),
        Route(growth_exports.PATH, sharer_report_csv),
        Route("/shop/{slug}", to_folder),
        Route("/shop/{slug}/", page),
        Route("/shop/{slug}/{file}", page),
    ]
