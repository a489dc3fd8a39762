"""Prometheus metrics, served at /metrics.

Two kinds of values, collected two ways:

1. **Events counted where they happen** — requests, orders placed and refused, closes, delivery
   attempts, actor runs. They happen in many processes: uvicorn `--workers N`, dramatiq's worker
   processes, the scheduler. prometheus-client's *multiprocess mode* covers that: every process
   writes its counters and histograms to memory-mapped files in PROMETHEUS_MULTIPROC_DIR and the
   /metrics handler of any API process sums the files of all processes. `groupbuy run`, `serve`,
   `worker` and `scheduler` set the variable (default `<data dir>/prometheus`, one directory per
   host; files of processes that no longer run are removed when a command starts). Without the
   variable (tests, an app embedded elsewhere) the same metrics live in the process's default
   registry. On a multi-host deployment, give each host (pod) its own directory; an API pod then
   shows its own processes — scrape every pod and sum in Prometheus.

2. **State read at scrape time** — outbox lag, the oldest undelivered event, undelivered
   deliveries, dramatiq queue depth. These are facts about PostgreSQL and Redis, not about any
   one process, so a counter kept by the processes would be wrong as soon as one of them died
   or a message was lost; a scrape-time collector asks the database and Redis directly (a few
   indexed aggregate queries, under a statement timeout) and is right by construction, whatever
   process answers the scrape. If a source cannot be read, `groupbuy_scrape_source_up{source}`
   says so and its gauges are left out rather than reported as zero. The outbox is read across
   tenants as the owner role, as the scheduler's relay does to find pending work.

Labels stay bounded and anonymous: the GraphQL operation name a client sends is kept only when it
is a plain identifier and among the first MAX_OPERATION_NAMES seen by the process, else
`(other)`; HTTP paths are route templates; the tenant slug appears on the order counters only;
nothing else that names a tenant, a user or an order is ever a label.

Families (all prefixed `groupbuy_`):
  http_requests_total{route,operation,status}, http_request_duration_seconds{route,operation}
  orders_placed_total{tenant}, orders_refused_total{tenant,reason}
  batch_close_duration_seconds, batch_close_order_lines
  delivery_attempts_total{channel,result}, webhook_failures_total{channel,kind}
  actor_messages_total{actor,outcome}, actor_duration_seconds{actor}
  outbox_pending_events, outbox_lag_seconds, outbox_oldest_undelivered_seconds,
  outbox_undelivered_deliveries{channel}, queue_messages{queue,state}, scrape_source_up{source}
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import redis.asyncio as aioredis
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from service.db import owner_url
from service.errors import ErrorCode
from service.redis_conn import redis_url

log = logging.getLogger(__name__)

MAX_OPERATION_NAMES = 200
ANONYMOUS, OTHER, NOT_EXECUTED, BATCH = "(anonymous)", "(other)", "(not executed)", "(batch)"

REQUESTS = Counter(
    "groupbuy_http_requests_total",
    "HTTP requests by route template, GraphQL operation name (empty outside /graphql) and status.",
    ["route", "operation", "status"],
)
REQUEST_SECONDS = Histogram(
    "groupbuy_http_request_duration_seconds",
    "HTTP request latency by route template and GraphQL operation name.",
    ["route", "operation"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
ORDERS_PLACED = Counter(
    "groupbuy_orders_placed_total", "orderPlace calls that returned an order.", ["tenant"]
)
ORDERS_REFUSED = Counter(
    "groupbuy_orders_refused_total",
    "orderPlace calls refused, by the payload's (first) error code.",
    ["tenant", "reason"],
)
ORDER_STATEMENT_ORDERS = Histogram(
    "groupbuy_order_statement_orders",
    "Orders placed per statement: orderPlace requests that met in a worker go together "
    "(GROUPBUY_ORDER_GROUP_MAX); 1 when alone.",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
CLOSE_SECONDS = Histogram(
    "groupbuy_batch_close_duration_seconds",
    "Duration of batch closes that did the work (not those that found the batch already closed).",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800),
)
CLOSE_LINES = Histogram(
    "groupbuy_batch_close_order_lines",
    "Confirmed order lines aggregated per batch close.",
    buckets=(0, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
)
DELIVERY_ATTEMPTS = Counter(
    "groupbuy_delivery_attempts_total",
    "Notification delivery attempts by channel and result (delivered, retry, failed).",
    ["channel", "result"],
)
WEBHOOK_FAILURES = Counter(
    "groupbuy_webhook_failures_total",
    "Failed deliveries: kind=attempt for each failed attempt, kind=final when one is given up (FAILED).",
    ["channel", "kind"],
)
ACTOR_MESSAGES = Counter(
    "groupbuy_actor_messages_total", "dramatiq messages processed by actor and outcome.", ["actor", "outcome"]
)
ACTOR_SECONDS = Histogram(
    "groupbuy_actor_duration_seconds",
    "dramatiq message processing time by actor.",
    ["actor"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
)

# -- labels ----------------------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_seen_operations: set[str] = set()
_seen_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A client's operation name as a label: kept when it is a plain identifier and there is
    room (MAX_OPERATION_NAMES per process), else `(other)`; `(anonymous)` when unnamed."""
    if not name:
        return ANONYMOUS
    if not _NAME.match(name):
        return OTHER
    if name in _seen_operations:
        return name
    with _seen_lock:
        if len(_seen_operations) < MAX_OPERATION_NAMES:
            _seen_operations.add(name)
            return name
    return OTHER


def _error_codes() -> frozenset[str]:
    return frozenset(c.value for c in ErrorCode)


def refusal_reason(code: Any) -> str:
    value = str(getattr(code, "value", code) or "")
    return value if value in _error_codes() else "OTHER"


# -- events ----------------------------------------------------------------------------------


# Children by label values, bounded as the labels are (route templates, capped operation names).
_request_children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
_placed_children: dict[str, Any] = {}


def observe_request(route: str, operation: str, status: int, seconds: float) -> None:
    key = (route, operation, status)
    children = _request_children.get(key)
    if children is None:
        children = (REQUESTS.labels(route, operation, str(status)), REQUEST_SECONDS.labels(route, operation))
        if len(_request_children) < 10_000:
            _request_children[key] = children
    children[0].inc()
    children[1].observe(seconds)


def observe_order_place(tenant: str | None, payload: Any) -> Any:
    """Counts an orderPlace payload as placed or refused; returns it unchanged."""
    errors = getattr(payload, "errors", None) or []
    if errors:
        ORDERS_REFUSED.labels(tenant or "", refusal_reason(errors[0].code)).inc()
    elif getattr(payload, "order", None) is not None:
        child = _placed_children.get(tenant or "")
        if child is None:
            child = ORDERS_PLACED.labels(tenant or "")
            if len(_placed_children) < 10_000:
                _placed_children[tenant or ""] = child
        child.inc()
    return payload


def observe_close(result: Any) -> None:
    """A CloseResult (service.procurement.close) of a close that did the work."""
    CLOSE_SECONDS.observe(result.duration_ms / 1000)
    CLOSE_LINES.observe(result.order_lines)


def observe_delivery(channel: str, status: str) -> None:
    """One recorded delivery attempt; status is what the delivery became (DELIVERED, PENDING for
    a retry, FAILED when given up)."""
    channel = channel if channel in ("WEBHOOK", "EMAIL") else "OTHER"
    result = {"DELIVERED": "delivered", "PENDING": "retry", "FAILED": "failed"}.get(status, "other")
    DELIVERY_ATTEMPTS.labels(channel, result).inc()
    if result != "delivered":
        WEBHOOK_FAILURES.labels(channel, "attempt").inc()
    if result == "failed":
        WEBHOOK_FAILURES.labels(channel, "final").inc()


def observe_actor(actor: str, outcome: str, seconds: float | None) -> None:
    ACTOR_MESSAGES.labels(actor, outcome).inc()
    if seconds is not None:
        ACTOR_SECONDS.labels(actor).observe(seconds)


# -- state read at scrape time ---------------------------------------------------------------

SCRAPE_TIMEOUT_SECONDS = 5.0

_OUTBOX = """
SELECT
  (SELECT count(*) FROM outbox_event WHERE relayed_at IS NULL) AS pending,
  (SELECT extract(epoch FROM clock_timestamp() - min(created_at))
     FROM outbox_event WHERE relayed_at IS NULL) AS lag,
  (SELECT extract(epoch FROM clock_timestamp() - min(e.created_at))
     FROM delivery d JOIN outbox_event e ON e.tenant_id = d.tenant_id AND e.id = d.outbox_event_id
    WHERE d.status IN ('PENDING', 'SENDING')) AS undelivered_age
"""
_UNDELIVERED = (
    "SELECT channel, count(*) AS n FROM delivery WHERE status IN ('PENDING', 'SENDING') GROUP BY channel"
)


_engine: Any = None


def _scrape_engine() -> Any:
    """The owner's URL without a pool: a scrape never waits for, or holds, a request's connection,
    and no pooled connection is tied to one event loop."""
    global _engine
    if _engine is None:
        _engine = create_async_engine(owner_url(), poolclass=NullPool)
    return _engine


async def _database_families() -> list[Metric]:
    async with _scrape_engine().begin() as conn:
        await conn.execute(text("SET LOCAL statement_timeout = '3s'"))
        row = (await conn.execute(text(_OUTBOX))).one()
        by_channel = (await conn.execute(text(_UNDELIVERED))).all()
    pending = GaugeMetricFamily("groupbuy_outbox_pending_events", "Outbox events not yet relayed.")
    pending.add_metric([], float(row.pending))
    lag = GaugeMetricFamily(
        "groupbuy_outbox_lag_seconds", "Age of the oldest outbox event not yet relayed (0 when none)."
    )
    lag.add_metric([], float(row.lag or 0))
    oldest = GaugeMetricFamily(
        "groupbuy_outbox_oldest_undelivered_seconds",
        "Age of the oldest outbox event not yet relayed or with a delivery still to send (0 when none).",
    )
    oldest.add_metric([], float(max(row.lag or 0, row.undelivered_age or 0)))
    undelivered = GaugeMetricFamily(
        "groupbuy_outbox_undelivered_deliveries",
        "Deliveries PENDING or SENDING, by channel.",
        labels=["channel"],
    )
    counts = {"WEBHOOK": 0, "EMAIL": 0} | {r.channel: r.n for r in by_channel}
    for channel, n in sorted(counts.items()):
        undelivered.add_metric([channel], float(n))
    return [pending, lag, oldest, undelivered]


def _queue_names() -> list[str]:
    # The task layer's own modules: it imports this one (its broker middleware records metrics).
    import dramatiq

    from service.tasks import worker  # noqa: F401  (declares every actor, hence every queue)

    names = {a.queue_name for a in dramatiq.get_broker().actors.values()}
    return sorted(n for n in names if not n.endswith((".DQ", ".XQ")))


async def _queue_families() -> list[Metric]:
    namespace = "dramatiq"
    queues = _queue_names()
    client = aioredis.Redis.from_url(redis_url(), socket_timeout=2, socket_connect_timeout=2)
    try:
        pipe = client.pipeline(transaction=False)
        for q in queues:
            pipe.llen(f"{namespace}:{q}")
            pipe.hlen(f"{namespace}:{q}.DQ.msgs")
            pipe.zcard(f"{namespace}:{q}.XQ")
        values = await pipe.execute()
    finally:
        await client.aclose()
    family = GaugeMetricFamily(
        "groupbuy_queue_messages",
        "dramatiq messages in Redis: ready (waiting for a worker), delayed (not due yet), dead.",
        labels=["queue", "state"],
    )
    for i, q in enumerate(queues):
        ready, delayed, dead = values[3 * i : 3 * i + 3]
        family.add_metric([q, "ready"], float(ready))
        family.add_metric([q, "delayed"], float(delayed))
        family.add_metric([q, "dead"], float(dead))
    return [family]


async def live_families() -> list[Metric]:
    """The gauges read from PostgreSQL and Redis now, and whether each source answered."""
    sources = {"database": _database_families, "redis": _queue_families}
    results = await asyncio.gather(
        *(asyncio.wait_for(fn(), SCRAPE_TIMEOUT_SECONDS) for fn in sources.values()), return_exceptions=True
    )
    up = GaugeMetricFamily(
        "groupbuy_scrape_source_up", "1 when the source of scrape-time gauges answered.", labels=["source"]
    )
    families: list[Metric] = []
    for source, result in zip(sources, results, strict=True):
        if isinstance(result, BaseException):
            log.warning("metrics: could not read %s: %s", source, type(result).__name__)
            up.add_metric([source], 0.0)
        else:
            up.add_metric([source], 1.0)
            families.extend(result)
    return [*families, up]


class _Fixed:
    def __init__(self, families: Sequence[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


def render(live: Sequence[Metric] = ()) -> bytes:
    """The exposition text: every process's events (or this process's) and the live gauges."""
    if multiprocess_enabled():
        registry = CollectorRegistry(auto_describe=False)
        MultiProcessCollector(registry)
        events = generate_latest(registry)
    else:
        events = generate_latest(REGISTRY)
    state = CollectorRegistry(auto_describe=False)
    state.register(_Fixed(live))
    return events + generate_latest(state)
