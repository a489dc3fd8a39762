"""The strawberry extension that gives each GraphQL operation its log context, its span, its
metrics label and one summary log line. First in the schema's extension list, so everything the
other extensions and the resolvers log carries the request id, tenant slug and operation name."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextvars import Token
from typing import Any

from graphql import FieldNode, OperationDefinitionNode
from graphql.utilities import get_operation_ast
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, Status, StatusCode
from strawberry.extensions import SchemaExtension

from service.logs import log_context, operation_var, request_id_var, tenant_var
from service.observability import metrics
from service.observability.http import OPERATIONS_STATE_KEY
from service.observability.tracing import tracer, tracing_on

log = logging.getLogger("service.graphql.requests")
_MAX_NAME = 100
_MAX_ROOT_FIELDS = 5


def _tenant_slug(context: Any) -> str | None:
    principal = getattr(context, "principal", None)
    tenant = getattr(principal, "tenant", None)
    return getattr(tenant, "slug", None)


def _error_codes(result: Any) -> list[str]:
    codes = []
    for error in getattr(result, "errors", None) or []:
        code = (error.extensions or {}).get("code") if hasattr(error, "extensions") else None
        codes.append(str(code or "GRAPHQL_ERROR"))
    return codes


def _root_fields(ec: Any) -> list[str]:
    """The names of the operation's root fields (the first few; `...` for a fragment)."""
    document = getattr(ec, "graphql_document", None)
    if document is None:
        return []
    try:
        operation = get_operation_ast(document, ec.operation_name)
    except Exception:  # noqa: BLE001 - a summary line never fails the request
        return []
    if not isinstance(operation, OperationDefinitionNode):
        return []
    names = [s.name.value if isinstance(s, FieldNode) else "..." for s in operation.selection_set.selections]
    return names[:_MAX_ROOT_FIELDS] + (["…"] if len(names) > _MAX_ROOT_FIELDS else [])


class Observability(SchemaExtension):
    """A subclass may run its own work inside the operation's log context and span, after the
    context is set (`_before`) and before the summary line (`_after`): one extension, one hook,
    where two extensions would cost strawberry's runner twice per request."""

    def _before(self) -> None:
        """Runs first inside the context."""

    async def _after(self) -> None:
        """Runs once the operation has a result, before the summary line."""

    def _end(self) -> None:
        """Runs last, however the operation ended."""

    def _operation(self) -> tuple[str | None, str | None]:
        ec = self.execution_context
        name = ec.operation_name
        try:
            kind = ec.operation_type.value
        except Exception:  # noqa: BLE001 - no document (parse error) or no such operation
            kind = None
        return (name[:_MAX_NAME] if name else None), kind

    async def on_operation(self) -> AsyncIterator[None]:
        ec = self.execution_context
        context = ec.context
        request_id = getattr(context, "request_id", None)
        tenant = _tenant_slug(context)
        started = time.perf_counter()
        if not tracing_on():
            # No provider installed: the API's span would be a no-op, so neither it nor the
            # caller's trace context is made. The log context's variables are set directly: this
            # runs for every request, and log_context's generator and checks cost more than this.
            request_token, tenant_token = request_id_var.set(request_id), tenant_var.set(tenant)
            try:
                self._before()
                yield
                await self._after()
                if log.isEnabledFor(logging.INFO):  # the summary line is INFO: not built when off
                    self._log(started)
            finally:
                self._end()
                tenant_var.reset(tenant_token)
                request_id_var.reset(request_token)
            return
        request = getattr(context, "request", None)
        parent = propagate.extract(dict(request.headers)) if request is not None else None
        with (
            log_context(request_id=request_id, tenant=tenant),
            tracer().start_as_current_span("graphql", context=parent, kind=SpanKind.SERVER) as span,
        ):
            if span.is_recording():
                span.set_attribute("groupbuy.request_id", request_id or "")
                if tenant:
                    span.set_attribute("groupbuy.tenant", tenant)
            try:
                self._before()
                yield
                await self._after()
            finally:
                self._end()
            name, kind, codes = self._log(started)
            if span.is_recording():
                span.update_name(f"{kind or 'graphql'} {name or metrics.ANONYMOUS}")
                if name:
                    span.set_attribute("graphql.operation.name", name)
                if kind:
                    span.set_attribute("graphql.operation.type", kind)
                if codes:
                    span.set_attribute("graphql.error_codes", codes)
                if "INTERNAL_SERVER_ERROR" in codes:
                    span.set_status(Status(StatusCode.ERROR))

    def _log(self, started: float) -> tuple[str | None, str | None, list[str]]:
        """The operation's one summary line; returns its name, kind and error codes.
        "graphql mutation PlaceOrder {orderPlace} ok 12.3 ms"; "... UNAUTHENTICATED ..." when it failed."""
        name, kind = self._operation()
        codes = _error_codes(self.execution_context.result)
        fields = _root_fields(self.execution_context)
        duration = round((time.perf_counter() - started) * 1000, 1)
        with log_context(operation=name):
            log.info(
                "graphql %s %s {%s} %s %.1f ms",
                kind or "request",
                name or metrics.ANONYMOUS,
                ",".join(fields),
                ",".join(dict.fromkeys(codes)) or "ok",
                duration,
                extra={"duration_ms": duration, "error_codes": codes, "root_fields": fields},
            )
        return name, kind, codes

    def on_execute(self) -> Iterator[None]:
        token = self._executing()
        try:
            yield
        finally:
            operation_var.reset(token)

    def _executing(self) -> Token[str | None]:
        """The operation's metrics label, and its name in the log context while it executes."""
        name = self.execution_context.operation_name
        name = name[:_MAX_NAME] if name else None
        request = getattr(self.execution_context.context, "request", None)
        if request is not None:
            state = request.state
            labels = getattr(state, OPERATIONS_STATE_KEY, None)
            if labels is None:
                labels = []
                setattr(state, OPERATIONS_STATE_KEY, labels)
            labels.append(metrics.operation_label(name))
        return operation_var.set(name)
