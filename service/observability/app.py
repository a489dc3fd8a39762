"""What the Starlette app needs from observability: the /metrics endpoint and `instrument`, which
wraps the app in the request metrics and makes sure this process logs and traces as configured
(a uvicorn worker spawned by `serve --workers N` is a fresh process that only runs create_app)."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from service.observability.http import HttpMetrics
from service.observability.metrics import internal_refusal, metrics_endpoint

__all__ = ["instrument", "internal_refusal", "metrics_endpoint"]


def instrument(app: ASGIApp, routes: Sequence[BaseRoute]) -> ASGIApp:
    from service.logs import configure_from_settings, is_configured
    from service.observability.tracing import setup_tracing

    if not is_configured():
        configure_from_settings()
    setup_tracing("groupbuy-api")
    return HttpMetrics(app, routes)
