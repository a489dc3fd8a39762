"""Retention: the outbox and the delivery log would otherwise grow for ever.

Deleted, oldest first in bounded batches (short transactions, no long locks): deliveries in a final
state (DELIVERED, FAILED) older than GROUPBUY_RETENTION_DAYS; in-app notifications older than
GROUPBUY_NOTIFICATION_RETENTION_DAYS; relayed events older than GROUPBUY_RETENTION_DAYS that no
delivery or notification points to any more. Pending work is never touched. Platform maintenance
across tenants, so it runs as the owner (see deploy/README.md on BYPASSRLS), at most once an hour.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from sqlalchemy import text

from service.config import get_settings
from service.db import owner_engine

log = logging.getLogger(__name__)
BATCH = 5000
EVERY_SECONDS = 3600
_last_run = 0.0

_DELIVERIES = text("""
DELETE FROM delivery WHERE (tenant_id, id) IN (
  SELECT tenant_id, id FROM delivery WHERE status IN ('DELIVERED', 'FAILED')
    AND created_at < statement_timestamp() - make_interval(days => :days) LIMIT :n)
""")
_NOTIFICATIONS = text("""
DELETE FROM notification WHERE (tenant_id, id) IN (
  SELECT tenant_id, id FROM notification
   WHERE created_at < statement_timestamp() - make_interval(days => :days) LIMIT :n)
""")
_EVENTS = text("""
DELETE FROM outbox_event WHERE (tenant_id, id) IN (
  SELECT e.tenant_id, e.id FROM outbox_event e
  WHERE e.relayed_at IS NOT NULL AND e.created_at < statement_timestamp() - make_interval(days => :days)
    AND NOT EXISTS (SELECT 1 FROM delivery d WHERE d.tenant_id = e.tenant_id AND d.outbox_event_id = e.id)
    AND NOT EXISTS (SELECT 1 FROM notification x WHERE x.tenant_id = e.tenant_id AND x.outbox_event_id = e.id)
  LIMIT :n)
""")


@dataclass(frozen=True)
class Pruned:
    deliveries: int
    notifications: int
    events: int


async def prune(*, max_batches: int = 100) -> Pruned:
    s = get_settings()
    counts = []
    for statement, days in ((_DELIVERIES, s.retention_days), (_NOTIFICATIONS, s.notification_retention_days),
                            (_EVENTS, s.retention_days)):
        total = 0
        for _ in range(max_batches):
            async with owner_engine().begin() as conn:
                deleted = (await conn.execute(statement, {"days": days, "n": BATCH})).rowcount
            total += deleted
            if deleted < BATCH:
                break
        counts.append(total)
    pruned = Pruned(*counts)
    if any(counts):
        log.info("retention: %s", pruned)
    return pruned


async def prune_hourly() -> Pruned | None:
    global _last_run
    if time.monotonic() - _last_run < EVERY_SECONDS and _last_run:
        return None
    _last_run = time.monotonic()
    return await prune()
