"""orderPlace requests that meet in a worker are placed together: one statement, one commit.

Each tenant's batch has a queue per event loop. A request that finds its batch idle places its
order at once, alone, itself (today's statement); one that finds a statement in flight queues,
and when that statement returns a sender takes what is waiting (up to `order_group_max`, in lock
order: `placement.lock_order`) and places it, alone when it is one order, else with
`place_order_group()`; then takes what queued meanwhile. Nothing waits for a group to fill:
groups form while orders queue behind a statement in flight, i.e. under load, where they save
the most. A second lane (up to
`order_group_lanes`) opens only when a full group is waiting: at 8 clients, a second lane
sent most orders alone and placed fewer per second than one (bench/README.md).

Orders the group gave up, and all of a group whose statement failed, are placed alone after it,
so each order ends as it would have alone: placed, replayed or refused. A request cancelled
while it waits (the client went away) is still placed, as it would be once sent: a retry with
its idempotency key finds it.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from service.config import get_settings
from service.db import run_alone
from service.observability.metrics import ORDER_STATEMENT_ORDERS
from service.orders import placement
from service.orders.placement import OrderRequest, Placed
from service.tenants.principal import TenantInfo


@dataclass(slots=True)
class _Waiting:
    tenant: TenantInfo  # as this request read it: a group's orders share theirs
    request: OrderRequest
    done: asyncio.Future[Placed]


@dataclass(slots=True)
class _Queue:
    batch_id: UUID
    waiting: deque[_Waiting] = field(default_factory=deque)
    senders: int = 0
    sending: int = 0  # senders with a statement in flight


@dataclass
class _Placer:
    most: int
    lanes: int
    lock_wait_ms: int
    queues: dict[tuple[UUID, UUID], _Queue] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    # Statements sent by orders in each ({orders: statements}), and orders placed alone after
    # their group (given up by it, or the group's statement failed).
    sizes: dict[int, int] = field(default_factory=dict)
    given_up: int = 0


_IDLE_QUEUES = 1024
_placers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Placer] = weakref.WeakKeyDictionary()


def _placer() -> _Placer:
    loop = asyncio.get_running_loop()
    placer = _placers.get(loop)
    if placer is None:
        settings = get_settings()
        placer = _placers[loop] = _Placer(settings.order_group_max, settings.order_group_lanes,
                                          settings.order_group_lock_wait_ms)
    return placer


def stats() -> dict[str, Any]:
    """This event loop's placements so far: statements by orders in each, and orders placed
    alone after their group."""
    placer = _placer()
    return {"sizes": dict(placer.sizes), "given_up": placer.given_up}


async def place(tenant: TenantInfo, batch_id: UUID, request: OrderRequest) -> Placed:
    """Places `request` (its input already `placement.clean`) with whatever meets it in this
    worker; raises the refusal as `placement.place_order_alone` does."""
    placer = _placer()
    if placer.most <= 1:
        ORDER_STATEMENT_ORDERS.observe(1)
        return await _alone(tenant, batch_id, request)
    key = (tenant.id, batch_id)
    queue = placer.queues.get(key)
    if queue is None:
        if len(placer.queues) >= _IDLE_QUEUES:  # batches that are over: forget the idle ones
            placer.queues = {k: q for k, q in placer.queues.items() if q.senders or q.waiting}
        queue = placer.queues[key] = _Queue(batch_id)
    if not queue.senders:  # idle: this request is the lane, without a task or a future
        return await _inline(placer, queue, tenant, request)
    done: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
    queue.waiting.append(_Waiting(tenant, request, done))
    if queue.senders < placer.lanes and len(queue.waiting) >= placer.most:
        _start_sender(placer, queue)
    return await done


def _start_sender(placer: _Placer, queue: _Queue) -> None:
    queue.senders += 1
    task = asyncio.create_task(_send(placer, queue))
    placer.tasks.add(task)
    task.add_done_callback(placer.tasks.discard)


async def _inline(placer: _Placer, queue: _Queue, tenant: TenantInfo, request: OrderRequest) -> Placed:
    queue.senders += 1
    queue.sending += 1
    _count(placer, 1)
    try:
        return await _alone(tenant, queue.batch_id, request)
    finally:
        queue.sending -= 1
        queue.senders -= 1
        if not queue.senders and queue.waiting:  # what queued behind this order goes next
            _start_sender(placer, queue)


async def _send(placer: _Placer, queue: _Queue) -> None:
    group: list[_Waiting] = []
    try:
        # Another lane only for a full group: while a statement is in flight the orders behind it
        # queue and go together next, which costs the database less than sending them at once.
        while queue.waiting and (not queue.sending or len(queue.waiting) >= placer.most):
            group = _take(queue.waiting, placer.most)
            _count(placer, len(group))
            queue.sending += 1
            try:
                if len(group) == 1:
                    only = group[0]
                    await _settle(only.done, _alone(only.tenant, queue.batch_id, only.request))
                else:
                    await _together(placer, queue.batch_id, group)
            finally:
                queue.sending -= 1
            group = []
    except BaseException as e:  # cancelled with its event loop: no request may wait forever
        stranded = group + (list(queue.waiting) if queue.senders == 1 else [])
        for w in stranded:
            if not w.done.done():
                w.done.set_exception(e if isinstance(e, Exception) else RuntimeError("order placement stopped"))
        raise
    finally:
        queue.senders -= 1


def _take(waiting: deque[_Waiting], most: int) -> list[_Waiting]:
    """Up to `most` of the longest waiting, in lock order, with the same tenant settings as the
    first (a settings change between requests: the later ones wait for the next group); one
    that would go against the lock order waits for the next group too."""
    first = [waiting.popleft() for _ in range(min(most, len(waiting)))]
    tenant = first[0].tenant
    ordered = sorted(((placement.lock_order(w.request), n, w) for n, w in enumerate(first)), key=lambda x: x[:2])
    group, later = [], []
    highest = None
    for (low, high), _, w in ordered:
        if (highest is None or low >= highest) and (w.tenant is tenant or w.tenant == tenant):
            group.append(w)
            highest = high if highest is None else max(highest, high)
        else:
            later.append(w)
    waiting.extendleft(reversed(later))
    return group


async def _together(placer: _Placer, batch_id: UUID, group: list[_Waiting]) -> None:
    tenant, requests = group[0].tenant, [w.request for w in group]
    try:
        outcomes = await run_alone(lambda conn: placement.place_orders_together(
            conn, tenant=tenant, batch_id=batch_id, requests=requests, lock_wait_ms=placer.lock_wait_ms))
    except Exception:  # noqa: BLE001 - rolled back as a whole: each goes alone, which says what it was
        outcomes = [None] * len(group)
    alone = []
    for w, outcome in zip(group, outcomes, strict=True):
        if outcome is None:
            alone.append(w)
        else:
            _resolve(w.done, outcome)
    if alone:
        placer.given_up += len(alone)
        for _ in alone:
            ORDER_STATEMENT_ORDERS.observe(1)
        await asyncio.gather(*(_settle(w.done, _alone(w.tenant, batch_id, w.request)) for w in alone))


async def _settle(done: asyncio.Future[Placed], place: Awaitable[Placed]) -> None:
    try:
        placed: Placed | Exception = await place
    except Exception as e:  # noqa: BLE001 - the request's to raise
        placed = e
    _resolve(done, placed)


def _resolve(done: asyncio.Future[Placed], outcome: Placed | Exception) -> None:
    if done.done():  # the request was cancelled while it waited
        return
    if isinstance(outcome, Exception):
        done.set_exception(outcome)
    else:
        done.set_result(outcome)


def _count(placer: _Placer, orders: int) -> None:
    placer.sizes[orders] = placer.sizes.get(orders, 0) + 1
    ORDER_STATEMENT_ORDERS.observe(orders)


async def _alone(tenant: TenantInfo, batch_id: UUID, request: OrderRequest) -> Placed:
    return await run_alone(lambda conn: placement.place_order_alone(
        conn, tenant=tenant, customer_id=request.customer_id, batch_id=batch_id,
        pickup_point_id=request.pickup_point_id, lines=request.lines, idempotency_key=request.idempotency_key,
        token_version=request.token_version))
