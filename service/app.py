"""The Starlette app: /graphql, /app (leader and supplier client), /healthz, /readyz; /metrics and
/status on the internal listener (GROUPBUY_METRICS_PORT), or on the public one with the token."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.config import get_settings
from service.db import app_engine, dispose_engines
from service.docs_reference import guide_dir, public_sdl, reference_html
from service.exports import (
    SHORTAGE_REPORT_PATH,
    SUPPLIER_SHORTAGE_REPORT_PATH,
    audit_log_csv,
    coupon_report_csv,
    purchase_order_csv,
    sales_report_csv,
    shortage_report_csv,
    supplier_shortage_report_csv,
)
from service.ledger_exports import leader_statement_csv
from service.logs import printable
from service.observability.app import instrument, internal_refusal, metrics_endpoint
from service.redis_conn import async_redis, close_redis
from service.schema import schema, sdl
from service.schema.view import GraphQLView, error_response
from service.shop_web.routes import routes as shop_routes
from service.web_client import web_client

log = logging.getLogger(__name__)
WEB_DIR = Path(__file__).parent / "web"


class BodyLimit:
    """Refuses request bodies over the limit, whether or not they announce their length."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit():
            if int(declared) > self.max_bytes:
                return await self._refuse(scope, receive, send)
            if b"transfer-encoding" not in headers:
                # The server frames the body by its declared length: it cannot grow past it.
                return await self.app(scope, receive, send)
        seen = 0
        refused = False

        # A body without a length that grows past the limit: answered 413 from here, and the app
        # is told the client left. (Raising instead would reach Starlette's error middleware,
        # which answers 500 before any handler out here could answer 413.)
        async def limited_receive() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await self._refuse(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A client's mistake, not ours: one line, no traceback, and the metrics count the 413.
        log.warning("request body over %s bytes on %s %s: answered 413", self.max_bytes, scope.get("method"),
                    printable(str(scope.get("path"))[:200]))
        response = error_response(
            Request(scope), "REQUEST_TOO_LARGE", f"Request bodies are limited to {self.max_bytes} bytes.", 413
        )
        await response(scope, receive, send)


class BodyDeadline:
    """Refuses (408) a request whose body has not fully arrived within `seconds` of its headers.
    uvicorn has no body read timeout: a client sending a byte a second (slow loris) would
    otherwise hold a request, and whatever the app holds while reading it, for as long as it likes."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.seconds <= 0:
            return await self.app(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = refused = False

        async def timed_receive() -> Message:
            nonlocal body_done, refused
            if refused:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()
            try:
                # timeout_at, not wait_for: no task per message.
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                refused = True
                log.warning("request body not complete within %g s on %s %s: answered 408", self.seconds,
                            scope.get("method"), printable(str(scope.get("path"))[:200]))
                response = error_response(Request(scope), "REQUEST_TIMEOUT",
                                          f"The request body did not arrive within {self.seconds:g} s.", 408)
                await response(scope, receive, send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            if not refused:  # the app's answer to the disconnect it was shown goes nowhere
                await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except Exception:
            if not refused:
                raise


class GraphQLFirst:
    """POSTs to /graphql go straight to the view; everything else — /graphql's other methods and
    their 405s, other paths, the lifespan — through Starlette's router. Starlette's error
    middleware, exception middleware, router and route cost 3.5 % of an orderPlace's
    instructions; what they do for this route is kept: an unexpected error is answered 500
    without detail (as Starlette's error middleware answers it) and raised on to the server,
    which logs it."""

    def __init__(self, app: ASGIApp, graphql: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.graphql = graphql
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Behind a root path, the router's own matching decides.
        if (scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != self.path
                or scope.get("root_path")):
            return await self.app(scope, receive, send)
        scope["app"] = self.app
        started = False

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.graphql(scope, receive, tracked_send)
        except Exception:
            if not started:
                await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise


async def schema_sdl(request: Request) -> Response:
    """The SDL for developers; off with introspection, which it would otherwise get around."""
    if not get_settings().introspection_enabled:
        return JSONResponse({"error": "NOT_FOUND"}, status_code=404)
    return Response(sdl(), media_type="text/plain; charset=utf-8")


async def docs_sdl(request: Request) -> Response:
    """The SDL at a stable URL in every environment: the schema is public contract (code generators
    read it), unlike introspection, which production turns off against probing."""
    return Response(public_sdl(), media_type="text/plain; charset=utf-8")


async def docs_reference(request: Request) -> Response:
    return Response(reference_html(), media_type="text/html; charset=utf-8")


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _database_ok() -> bool:
    try:
        async with app_engine().connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as e:  # noqa: BLE001 - readiness reports, never raises
        log.warning("readyz: database unreachable: %s", e)
        return False


async def readyz(request: Request) -> Response:
    """Ready when the process can serve: the database answers. Redis is not needed to serve (orders
    are placed through the outbox while it is down), so it does not pull the process out of the
    load balancer. Says nothing about components: details are on /status."""
    ok = await _database_ok()
    return JSONResponse({"status": "ok" if ok else "unavailable"}, status_code=200 if ok else 503)


async def _redis_ok() -> bool:
    try:
        await async_redis().ping()
        return True
    except Exception as e:  # noqa: BLE001
        log.warning("status: redis unreachable: %s", e)
        return False


def status_endpoint(*, public: bool) -> Callable[[Request], Awaitable[Response]]:
    async def status(request: Request) -> Response:
        """Each component's state, for operators: on the internal listener, or with the metrics token."""
        refused = internal_refusal(request, public=public)
        if refused is not None:
            return refused
        database, redis = await asyncio.gather(_database_ok(), _redis_ok())
        return JSONResponse({
            "status": "ok" if database else "unavailable",
            "database": "ok" if database else "unreachable",
            "redis": "ok" if redis else "unreachable",
        })
    return status


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    # The handlers of the work the domain enqueues (batch publish: open_batch). Here, not at import:
    # the broker reads REDIS_URL when imported, and create_app() runs without it (route listings).
    from service.tasks import registry

    registry.install()
    # What start-up built (modules, the schema, caches) lives as long as the process: kept out of
    # the cyclic collector's scans, whose full passes otherwise walk it all again and again.
    gc.collect()
    gc.freeze()
    yield
    await dispose_engines()
    await close_redis()


class InFlightLimit:
    """At most `limit` requests in flight in this process; beyond it, 503 at once (liveness is
    always answered). Unlike uvicorn's limit_concurrency, connections that send nothing do not count."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.in_flight >= self.limit and scope["path"] != "/healthz":
            log.warning("more than %s requests in flight: answered 503", self.limit)
            response = PlainTextResponse("Service Unavailable", status_code=503, headers={"Retry-After": "1"})
            return await response(scope, receive, send)
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


# The web client loads only its own scripts and styles (no inline code): an injected script
# could otherwise read the bearer token (docs/security.md). The camera (pickup scanning) is the
# only powerful feature the client asks for.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
       "form-action 'self'; frame-ancestors 'none'")
# GraphiQL (development only) is a page with inline code that loads its scripts from a CDN.
GRAPHIQL_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https:; "
                "style-src 'self' 'unsafe-inline' https:; img-src 'self' data: https:; font-src 'self' data: https:; "
                "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
_COMMON_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), microphone=(), geolocation=(), payment=(), usb=()"),
]


class SecurityHeaders:
    """Security headers on every response: pages, static files, API answers and error pages alike."""

    def __init__(self, app: ASGIApp, graphiql_path: str | None) -> None:
        self.app = app
        self.graphiql_path = graphiql_path
        self.headers = [*_COMMON_HEADERS, (b"content-security-policy", CSP.encode())]
        self.graphiql_headers = [*_COMMON_HEADERS, (b"content-security-policy", GRAPHIQL_CSP.encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        graphiql = scope["path"] == self.graphiql_path and scope["method"] == "GET"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                added = self.headers
                if graphiql and any(k == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    added = self.graphiql_headers
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in added if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class InternalListener:
    """Requests that came in on the internal port (GROUPBUY_METRICS_PORT) reach only the internal
    routes; every other port gets the public app."""

    def __init__(self, app: ASGIApp, internal: ASGIApp, port: int | None) -> None:
        self.app = app  # the public app
        self.internal = internal
        self.port = port

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.port and scope["type"] == "http" and (scope.get("server") or ("", None))[1] == self.port:
            return await self.internal(scope, receive, send)
        return await self.app(scope, receive, send)


def _internal_app() -> ASGIApp:
    async def metrics(request: Request) -> Response:
        return await metrics_endpoint(request, public=False)

    return Starlette(routes=[
        Route("/metrics", metrics),
        Route("/status", status_endpoint(public=False)),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
    ])


def create_app() -> ASGIApp:
    s = get_settings()
    graphql = GraphQLView(schema(), graphql_ide="graphiql" if s.graphiql_enabled else None)
    routes = [
        Route("/graphql", graphql, methods=["GET", "POST"]),
        Route("/exports/purchase-orders/{id}.csv", purchase_order_csv),
        Route("/exports/audit-log.csv", audit_log_csv),
        Route("/exports/sales-report.csv", sales_report_csv),
        Route(SHORTAGE_REPORT_PATH, shortage_report_csv),
        Route(SUPPLIER_SHORTAGE_REPORT_PATH, supplier_shortage_report_csv),
        Route("/exports/coupon-report.csv", coupon_report_csv),
        Route("/exports/leader-statement.csv", leader_statement_csv),
        Route("/schema.graphql", schema_sdl),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/status", status_endpoint(public=True)),
        Route("/metrics", metrics_endpoint),
        Route("/", lambda r: RedirectResponse("/app/")),
        Route("/app", lambda r: RedirectResponse("/app/")),
        Mount("/app", web_client(WEB_DIR, CSP), name="app"),
        # The API guide (docs/guide): static pages, the SDL and the reference generated from it.
        Route("/docs", lambda r: RedirectResponse("/docs/")),
        Route("/docs/schema.graphql", docs_sdl),
        Route("/docs/reference", lambda r: RedirectResponse("/docs/reference/")),
        Route("/docs/reference/", docs_reference),
        Mount("/docs", StaticFiles(directory=guide_dir(), html=True, check_dir=False), name="docs"),
        *shop_routes(),  # the reference storefront, /shop/<tenant-slug>/
    ]
    starlette = Starlette(routes=routes, lifespan=lifespan)
    app = instrument(BodyLimit(GraphQLFirst(starlette, graphql), s.max_body_bytes), routes)
    app = BodyDeadline(app, float(os.environ.get("GROUPBUY_BODY_TIMEOUT_SECONDS", "10")))
    app = SecurityHeaders(InFlightLimit(app, s.max_requests_in_flight), "/graphql" if s.graphiql_enabled else None)
    return InternalListener(app, _internal_app(), s.metrics_port)
