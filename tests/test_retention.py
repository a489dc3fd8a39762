"""Retention prunes old final deliveries, old notifications and the events nothing points to,
and never pending work or anything recent."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime


def _counts(db, tenant_id) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    return db.execute(
        "SELECT (SELECT count(*) FROM delivery WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM notification WHERE tenant_id = %(t)s), "
        "(SELECT count(*) FROM outbox_event WHERE tenant_id = %(t)s)", {"t": tenant_id}).fetchone()


def test_prune_keeps_pending_and_recent_rows(seeded_tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.db import dispose_engines
    from service.notify.retention import prune

    old, recent = seeded_tenant(), seeded_tenant()
    t = old.uuid
    assert all(_counts(owner_db, t)), "the demo has deliveries, notifications and events"
    owner_db.execute("UPDATE outbox_event SET relayed_at = coalesce(relayed_at, %s), "
                     "created_at = now() - interval '40 days' WHERE tenant_id = %s", (datetime.now(UTC), t))
    owner_db.execute("UPDATE delivery SET created_at = now() - interval '40 days', status = 'DELIVERED' "
                     "WHERE tenant_id = %s", (t,))
    owner_db.execute("UPDATE notification SET created_at = now() - interval '200 days' WHERE tenant_id = %s", (t,))
    pending_event = owner_db.execute(
        "UPDATE delivery SET status = 'PENDING' WHERE tenant_id = %s AND id = (SELECT id FROM delivery "
        "WHERE tenant_id = %s LIMIT 1) RETURNING outbox_event_id", (t, t)).fetchone()[0]
    # Old final deliveries of other events: copies of that row pointing at them.
    owner_db.execute(
        "INSERT INTO delivery SELECT (jsonb_populate_record(d, jsonb_build_object("
        "'id', gen_random_uuid(), 'outbox_event_id', e.id, 'status', 'FAILED'))).* "
        "FROM delivery d, (SELECT id FROM outbox_event WHERE tenant_id = %s AND id <> %s LIMIT 3) e "
        "WHERE d.tenant_id = %s AND d.outbox_event_id = %s", (t, pending_event, t, pending_event))
    assert _counts(owner_db, t)[0] == 4
    untouched = _counts(owner_db, recent.uuid)

    async def run():  # type: ignore[no-untyped-def]
        try:
            return await prune()
        finally:
            await dispose_engines()

    pruned = asyncio.run(run())
    assert pruned.deliveries >= 3 and pruned.notifications >= 1 and pruned.events >= 1
    deliveries, notifications, events = _counts(owner_db, t)
    assert (deliveries, notifications) == (1, 0), "only the pending delivery is left"
    assert owner_db.execute("SELECT id FROM outbox_event WHERE tenant_id = %s", (t,)).fetchall() == [
        (pending_event,)], "the event of pending work stays, the others go"
    assert _counts(owner_db, recent.uuid) == untouched
