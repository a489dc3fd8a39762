"""The domain asks for work by name and ids (service.jobs): sent once its transaction commits, never
for one rolled back; batch publish sends the delayed open_batch that way."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
import redis

from service import global_id
from tests.ordering_fixtures import BATCH_PUBLISH, create_batch, make_world, offer_input


def test_work_is_sent_after_the_commit_and_never_for_a_rollback(services) -> None:  # type: ignore[no-untyped-def]
    from service import jobs
    from service.db import dispose_engines, tenant_transaction

    sent: list[tuple[int | None, dict[str, Any]]] = []
    name = f"probe_{uuid.uuid4().hex[:8]}"
    jobs.register(name, lambda delay_ms, **ids: sent.append((delay_ms, ids)))
    batch_id = uuid.uuid4()

    async def run() -> None:
        async with tenant_transaction(None) as session:
            jobs.enqueue_after_commit(session, name, delay_ms=250, batch_id=batch_id, n=3)
            assert sent == [], "sent before the commit"
        assert sent == [(250, {"batch_id": str(batch_id), "n": "3"})]
        with pytest.raises(RuntimeError):
            async with tenant_transaction(None) as session:
                jobs.enqueue_after_commit(session, name, batch_id=uuid.uuid4())
                raise RuntimeError("rolled back")
        async with tenant_transaction(None) as session:
            jobs.enqueue_after_commit(session, f"{name}_unknown", batch_id=batch_id)  # no handler: logged
        await dispose_engines()

    asyncio.run(run())
    assert len(sent) == 1
    with pytest.raises(jobs.NoHandler):
        jobs.enqueue(f"{name}_unknown", batch_id=batch_id)


def test_publish_sends_the_delayed_open_batch_after_its_commit(gql, tenant, owner_db, services):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = create_batch(gql, world, [offer_input(world, 0)], opens_in=120)
    batch_id = str(global_id.decode_as(batch["id"], "Batch"))
    client = redis.Redis.from_url(services.redis_url)

    def delayed() -> list[bytes]:
        return [body for key in client.keys("dramatiq:*.DQ.msgs") for body in client.hvals(key)
                if batch_id.encode() in body and b"open_batch" in body]

    assert delayed() == []
    result = gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=tenant.admin_token)["batchPublish"]
    assert result["errors"] == [] and result["batch"]["status"] == "SCHEDULED"
    assert len(delayed()) == 1
