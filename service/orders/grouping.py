"""orderPlace requests that meet in a worker are placed together: one statement, one commit.

Each tenant's batch has a queue per event loop. A request joins the queue and, when no sender is
running, starts one; a sender takes what is waiting (up to `order_group_max`, in lock order:
`placement.lock_order`) and places it, alone when it is one order (today's statement), else with
`place_order_group()`; then takes what queued meanwhile. Nothing waits for a group to fill: when
the worker is idle an order goes at once, alone, and groups form while orders queue behind a
statement in flight, i.e. under load, where they save the most. A second lane (up to
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


@dataclass
class _Waiting:
    request: OrderRequest
    done: asyncio.Future[Placed]


@dataclass
class _Queue:
    tenant: TenantInfo
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
        queue = placer.queues[key] = _Queue(tenant, batch_id)
    done: asyncio.Future[Placed] = asyncio.get_running_loop().create_future()
    queue.waiting.append(_Waiting(request, done))
    if queue.senders < placer.lanes and (not queue.senders or len(queue.waiting) >= placer.most):
        queue.senders += 1
        task = asyncio.create_task(_send(placer, key, queue))
        placer.tasks.add(task)
        task.add_done_callback(placer.tasks.discard)
    return await done


async def _send(placer: _Placer, key: tuple[UUID, UUID], queue: _Queue) -> None:
    group: list[_Waiting] = []
    try:
        # Another lane only for a full group: while a statement is in flight the orders behind it
        # queue and go together next, which costs the database less than sending them at once.
        while queue.waiting and (not queue.sending or len(queue.waiting) >= placer.most):
            group = _take(queue.waiting, placer.most)
            placer.sizes[len(group)] = placer.sizes.get(len(group), 0) + 1
            ORDER_STATEMENT_ORDERS.observe(len(group))
            queue.sending += 1
            try:
                if len(group) == 1:
                    await _settle(group[0].done, _alone(queue.tenant, queue.batch_id, group[0].request))
                else:
                    await _together(placer, queue, group)
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
        if not queue.senders and not queue.waiting and placer.queues.get(key) is queue:
            del placer.queues[key]


def _take(waiting: deque[_Waiting], most: int) -> list[_Waiting]:
    """Up to `most` of the longest waiting, in lock order; one that would go against that order
    waits for the next group."""
    first = [waiting.popleft() for _ in range(min(most, len(waiting)))]
    first.sort(key=lambda w: placement.lock_order(w.request))
    group, later = [], []
    highest = None
    for w in first:
        low, high = placement.lock_order(w.request)
        if highest is None or low >= highest:
            group.append(w)
            highest = high if highest is None else max(highest, high)
        else:
            later.append(w)
    waiting.extendleft(reversed(later))
    return group


async def _together(placer: _Placer, queue: _Queue, group: list[_Waiting]) -> None:
    requests = [w.request for w in group]
    try:
        outcomes = await run_alone(lambda conn: placement.place_orders_together(
            conn, tenant=queue.tenant, batch_id=queue.batch_id, requests=requests,
            lock_wait_ms=placer.lock_wait_ms))
    except Exception:  # noqa: BLE001 - rolled back as a whole: each goes alone, which says what it was
        outcomes = [None] * len(group)
    alone = []
    for w, outcome in zip(group, outcomes, strict=True):
        if outcome is None:
            alone.append(w)
        elif isinstance(outcome, Placed):
            if not w.done.done():
                w.done.set_result(outcome)
        elif not w.done.done():
            w.done.set_exception(outcome)
    if alone:
        placer.given_up += len(alone)
        for _ in alone:
            ORDER_STATEMENT_ORDERS.observe(1)
        await asyncio.gather(*(_settle(w.done, _alone(queue.tenant, queue.batch_id, w.request)) for w in alone))


async def _settle(done: asyncio.Future[Placed], place: Awaitable[Placed]) -> None:
    try:
        placed = await place
    except Exception as e:  # noqa: BLE001 - the request's to raise
        if not done.done():
            done.set_exception(e)
    else:
        if not done.done():
            done.set_result(placed)


async def _alone(tenant: TenantInfo, batch_id: UUID, request: OrderRequest) -> Placed:
    return await run_alone(lambda conn: placement.place_order_alone(
        conn, tenant=tenant, customer_id=request.customer_id, batch_id=batch_id,
        pickup_point_id=request.pickup_point_id, lines=request.lines, idempotency_key=request.idempotency_key))
