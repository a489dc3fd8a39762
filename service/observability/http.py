"""The outermost ASGI middleware: one count and one latency observation per HTTP request,
labelled by route template (never the raw path, which may carry ids) and, on /graphql, by the
operation name the GraphQL extension left in the request's state."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability import metrics

# request.state key the GraphQL extension appends operation labels to (one per operation run).
OPERATIONS_STATE_KEY = "metric_operations"
UNMATCHED = "(unmatched)"


class HttpMetrics:
    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = list(routes)
        self._known: dict[tuple[str, str, str], str] = {}

    def route_of(self, scope: Scope) -> str:
        key = (scope.get("path", ""), scope.get("root_path", ""), scope.get("method", "GET"))
        found = self._known.get(key)
        if found is None:
            found = self._match(scope)
            # Only templates without parameters: their paths are few; others carry ids.
            if "{" not in found and found != UNMATCHED and len(self._known) < 1024:
                self._known[key] = found
        return found

    def _match(self, scope: Scope) -> str:
        probe = {
            "type": "http",
            "path": scope.get("path", ""),
            "root_path": scope.get("root_path", ""),
            "method": scope.get("method", "GET"),
        }
        partial = None
        for route in self.routes:
            match, _ = route.matches(probe)
            if match is Match.FULL:
                return getattr(route, "path", None) or UNMATCHED
            if match is Match.PARTIAL and partial is None:  # right path, wrong method
                partial = getattr(route, "path", None)
        return partial or UNMATCHED

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = self.route_of(scope)
            operation = ""
            if route == "/graphql":
                operation = _graphql_label(scope.get("state") or {})
            metrics.observe_request(route, operation, status, time.perf_counter() - started)


def _graphql_label(state: Any) -> str:
    labels = state.get(OPERATIONS_STATE_KEY) if isinstance(state, dict) else None
    if not labels:
        return metrics.NOT_EXECUTED
    return labels[0] if len(labels) == 1 else metrics.BATCH
