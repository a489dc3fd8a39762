"""Invariant 4 on the cluster: ten concurrent batchClose requests through the HTTP API against the
coordinator produce one set of purchase orders, pick lists and commissions, and the money adds up
(the single node's checks, tests/close_checks.py)."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx

from service import global_id
from tests.close_checks import check_close, snapshot
from tests.close_fixtures import build_batch, random_spec

CLOSE = "mutation($id: ID!) { batchClose(id: $id) { batch { status } errors { code message } } }"


def test_ten_concurrent_closes_through_the_api_produce_one_set(api_url, tenant, owner_db):  # type: ignore[no-untyped-def]
    built = build_batch(owner_db, tenant.uuid, random_spec(random.Random(7), orders=60))
    before = snapshot(owner_db, tenant.uuid, built.batch_id)
    batch = global_id.encode("Batch", built.batch_id)

    def close(_: int) -> dict:
        response = httpx.post(f"{api_url}/graphql", json={"query": CLOSE, "variables": {"id": batch}},
                              headers={"Authorization": f"Bearer {tenant.admin_token}"}, timeout=120)
        body = response.json()
        assert not body.get("errors"), body
        return body["data"]["batchClose"]

    with ThreadPoolExecutor(10) as pool:
        results = list(pool.map(close, range(10)))
    assert all(r["errors"] == [] and r["batch"]["status"] == "CLOSED" for r in results), results
    outcome = check_close(owner_db, tenant.uuid, built.batch_id, before)
    assert owner_db.execute("SELECT count(*) FROM batch_close WHERE tenant_id = %s AND batch_id = %s",
                            (tenant.uuid, built.batch_id)).fetchone() == (1,)
    print(f"close on Citus: {outcome}")
