"""What the Starlette app needs from observability: the /metrics endpoint and `instrument`, which
wraps the app in the request metrics and makes sure this process logs and traces as configured
(a uvicorn worker spawned by `serve --workers N` is a fresh process that only runs create_app)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Sequence

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from service.config import get_settings
from service.logs import configure_from_settings, is_configured
from service.observability.http import HttpMetrics
from service.observability.metrics import live_families, render
from service.observability.tracing import setup_tracing

__all__ = ["instrument", "internal_refusal", "metrics_endpoint"]


def instrument(app: ASGIApp, routes: Sequence[BaseRoute]) -> ASGIApp:
    if not is_configured():
        configure_from_settings()
    setup_tracing("groupbuy-api")
    return HttpMetrics(app, routes)


def authorized(request: Request) -> bool:
    """The bearer token GROUPBUY_METRICS_TOKEN was presented (True when none is configured)."""
    token = get_settings().metrics_token
    if not token:
        return True
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def internal_refusal(request: Request, *, public: bool) -> Response | None:
    """Why an operator's endpoint (/metrics, /status) is refused, or None. On the public listener
    they need the token, and are not there at all when none is configured; on the internal
    listener (GROUPBUY_METRICS_PORT) the token is needed only when configured."""
    if public and not get_settings().metrics_token:
        return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    if not authorized(request):
        return PlainTextResponse(
            "this endpoint needs the bearer token (GROUPBUY_METRICS_TOKEN)\n",
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    return None


async def metrics_endpoint(request: Request, *, public: bool = True) -> Response:
    """GET /metrics: see internal_refusal for who may."""
    refused = internal_refusal(request, public=public)
    if refused is not None:
        return refused
    live = await live_families()
    body = await asyncio.to_thread(render, live)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
