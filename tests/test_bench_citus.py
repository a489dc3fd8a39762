"""bench/citus.py's bookkeeping without a cluster (`make bench-citus` runs the real thing): runs
alternate which side goes first, ratios pair run i of the cluster with run i of the single node,
and the scoped storefront statement names the tenant on every table."""

from __future__ import annotations

import uuid

from bench.citus import headline, pair, scoped_storefront_sql
from bench.world import World


def test_pair_alternates_and_pairs_the_runs() -> None:
    order: list[str] = []
    rates = {"single": iter([100.0, 200.0, 300.0]), "citus": iter([50.0, 150.0, 150.0])}

    def measure(side: str) -> tuple[float, float]:
        order.append(side)
        return next(rates[side]), 10.0

    out = pair("x", measure, runs=3)
    assert order == ["single", "citus", "citus", "single", "single", "citus"]
    assert out["ratio"] == {"median": 0.5, "min": 0.5, "max": 0.75, "runs": 3}
    assert out["single_per_second"]["median"] == 200.0
    assert out["citus_p99_ms"]["median"] == 10.0
    h = headline({"catalog": out})
    assert h == {"citus_catalog_ratio": 0.5, "citus_catalog_per_second": 150.0,
                 "citus_catalog_single_per_second": 200.0}


def test_the_storefront_statement_names_the_tenant_on_every_table() -> None:
    tenant, batch = uuid.uuid4(), uuid.uuid4()
    world = World(tenant_id=tenant, slug="s", batch_id=uuid.uuid4(), customers=[], tokens=[],
                  catalog_batches={100: batch})
    sql = scoped_storefront_sql(world)
    assert f"batch.id = '{batch}'" in sql
    for table in ("batch", "offer", "product", "supplier", "offer_stock_slot"):
        assert f"{table}.tenant_id = '{tenant}'" in sql, table
    assert "%(" not in sql
