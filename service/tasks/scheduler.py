"""The scheduler: one active instance (PostgreSQL advisory lock), others wait as standbys.

Each tick runs the jobs of service.tasks.registry (open and close due batches, expire unpaid
orders, relay the outbox). Every job is idempotent, so a tick repeated by a new leader is harmless.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable, Sequence

from sqlalchemy import text

from service.db import dispose_engines, owner_engine

log = logging.getLogger(__name__)

LEADER_LOCK = 7243002
Job = Callable[[], Awaitable[object]]


async def run_jobs(jobs: Iterable[tuple[str, Job]]) -> None:
    for name, fn in jobs:
        try:
            await fn()
        except Exception:  # noqa: BLE001 - one failing job must not stop the others
            log.exception("scheduler job %s failed", name)


async def run_scheduler(jobs: Sequence[tuple[str, Job]], interval: float = 1.0,
                        stop: asyncio.Event | None = None) -> None:
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    while not stop.is_set():
        try:
            await _lead_while_possible(jobs, stop, interval)
        except Exception:  # noqa: BLE001 - lost the database: wait, reconnect, compete again
            log.exception("scheduler lost its database connection; retrying")
            await _sleep(stop, interval)
    await dispose_engines()


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def _lead_while_possible(jobs: Sequence[tuple[str, Job]], stop: asyncio.Event, interval: float) -> None:
    # The lock lives on one dedicated connection: if this process dies, PostgreSQL frees it.
    async with owner_engine().connect() as conn:
        leader = False
        while not stop.is_set():
            if not leader:
                got = await conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK})
                leader = bool(got.scalar())
                await conn.commit()
                if leader:
                    log.info("scheduler: this instance is now the leader")
            else:
                # Still holding it? (a terminated backend drops the lock with the connection)
                await conn.execute(text("SELECT 1"))
                await conn.commit()
            if leader:
                await run_jobs(jobs)
            await _sleep(stop, interval)
