"""OpenTelemetry tracing, chosen by GROUPBUY_TRACING:

- `off` (default): nothing is set up; the OpenTelemetry API's no-op tracer makes every span
  free and unrecorded, and no exporter is needed.
- `console`: spans are printed as JSON to stdout as each one ends (development, debugging).
- `otlp`: spans are batched to an OTLP/HTTP collector. The exporter is the optional extra
  `groupbuy[tracing]`, imported only here; it reads the standard OTEL_EXPORTER_OTLP_* variables
  (endpoint, headers, …).

Spans: one per GraphQL operation (`query OrderList`, `mutation orderPlace…`, with the request id,
tenant slug and operation type as attributes; a `traceparent` header continues the caller's
trace), one per dramatiq message (`actor close_batch_actor`, continuing the trace of whoever sent
it). The service name is OTEL_SERVICE_NAME when set, else groupbuy-<process kind>.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import IO

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

from service.config import get_settings

log = logging.getLogger(__name__)
MODES = ("off", "console", "otlp")
_configured_pid: int | None = None


def tracer() -> trace.Tracer:
    return trace.get_tracer("groupbuy")


def tracing_on() -> bool:
    """Whether a tracer provider is installed (by `setup_tracing` or an embedding program); until
    then the API hands out the proxy provider, whose spans are no-ops."""
    return not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)


def tracing_mode() -> str:
    mode = (get_settings().tracing or "off").strip().lower()
    if mode not in MODES:
        raise ValueError(f"GROUPBUY_TRACING must be one of {', '.join(MODES)}; got {mode!r}")
    return mode


def setup_tracing(service_name: str, *, out: IO[str] | None = None) -> str:
    """Installs the tracer provider GROUPBUY_TRACING asks for, once per process; returns the mode."""
    global _configured_pid
    mode = tracing_mode()
    if mode == "off" or _configured_pid == os.getpid():
        return mode

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    if mode == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out or sys.stdout)))
    else:
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError as e:
            raise RuntimeError(
                "GROUPBUY_TRACING=otlp needs the OTLP exporter: install the 'tracing' extra "
                "(pip install 'groupbuy[tracing]')"
            ) from e
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    _configured_pid = os.getpid()
    log.info("tracing: %s (service %s)", mode, name)
    return mode
