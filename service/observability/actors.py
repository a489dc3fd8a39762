"""The dramatiq middleware: for every message, a span, the log context (message id, actor name as
the operation) and the actor metrics; in each worker process, JSON logging and tracing.

dramatiq runs `async def` actors on one event-loop thread, in a task whose context is copied from
that thread, not from the worker thread that took the message. So that the log context and the
current span reach the actor's code, the async actors are wrapped at declaration to run in a
copy of the worker thread's context (`_in_callers_context`).
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.broker import MessageProxy
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from service.logs import configure_from_settings, log_context
from service.observability import metrics
from service.observability.tracing import setup_tracing, tracer

log = logging.getLogger(__name__)
TRACE_OPTION = "trace_context"


def _in_callers_context(async_fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(async_fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        caller = contextvars.copy_context()

        async def run() -> Any:
            for var, value in caller.items():
                var.set(value)
            return await async_fn(*args, **kwargs)

        loop_thread = get_event_loop_thread()
        if loop_thread is None:
            raise RuntimeError("the AsyncIO middleware must come before ActorObservability")
        return loop_thread.run_coroutine(run())

    return wrapper


class ActorObservability(dramatiq.Middleware):
    def __init__(self) -> None:
        self._running: dict[str, tuple[float, Any, Any, Any]] = {}
        self._lock = threading.Lock()

    # -- process ------------------------------------------------------------------------------
    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        """In each dramatiq worker process: our log format (through dramatiq's log pipe) and tracing."""
        configure_from_settings(stream=sys.stderr, replace_all=True)
        setup_tracing("groupbuy-worker")

    def after_declare_actor(self, broker: dramatiq.Broker, actor: dramatiq.Actor) -> None:
        inner = getattr(actor.fn, "__wrapped__", None)
        if inner is not None and inspect.iscoroutinefunction(inner):
            actor.fn = _in_callers_context(inner)

    # -- messages -----------------------------------------------------------------------------
    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        if trace.get_current_span().is_recording():
            carrier: dict[str, str] = {}
            propagate.inject(carrier)
            message.options[TRACE_OPTION] = carrier

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        parent = propagate.extract(message.options.get(TRACE_OPTION) or {})
        span = tracer().start_span(
            f"actor {message.actor_name}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "dramatiq",
                "messaging.message.id": message.message_id,
                "messaging.destination.name": message.queue_name,
                "dramatiq.retries": message.options.get("retries", 0),
            },
        )
        span_token = otel_context.attach(trace.set_span_in_context(span))
        logs = log_context(message_id=message.message_id, operation=message.actor_name)
        logs.__enter__()
        with self._lock:
            self._running[message.message_id] = (time.perf_counter(), span, span_token, logs)

    def _finish(self, message: MessageProxy, outcome: str, exception: BaseException | None) -> None:
        with self._lock:
            running = self._running.pop(message.message_id, None)
        if running is None:
            metrics.observe_actor(message.actor_name, outcome, None)
            return
        started, span, span_token, logs = running
        metrics.observe_actor(message.actor_name, outcome, time.perf_counter() - started)
        if exception is not None:
            span.record_exception(exception)
            span.set_status(Status(StatusCode.ERROR, type(exception).__name__))
        span.end()
        try:
            logs.__exit__(None, None, None)
            otel_context.detach(span_token)
        except ValueError:  # not the thread that entered: the context dies with the message
            pass

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        self._finish(message, "error" if exception is not None else "ok", exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._finish(message, "skipped", None)
