"""The Citus coordinator with two workers beside the single node, in the same run: the catalog
query and orderPlace (hot: every order on one offer; spread: over 1,000), through the API as in
production, and the catalog's storefront statement alone through pgbench. Each run measures the
single node and the cluster back to back; the ratio is the cluster's over the single node's.

On one machine every node shares the same cores, so this is the cost of the extra hop (the
coordinator plans and forwards each statement to the worker holding the tenant), not a speed-up.

    python -m bench.citus                       # 3 runs of 6 s, 8 clients
    python -m bench.citus --runs 1 --seconds 3 --only catalog
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.api import (
    _ok_catalog,
    _ok_order,
    _pgbench_args,
    _tps,
    catalog_requests,
    order_requests,
    prebuilt,
)
from bench.common import (
    DATA,
    RESULTS,
    Env,
    create_tenant,
    free_port,
    log,
    machine,
    ratio_summary,
    servers,
    start_api,
    summary,
    write_results,
)
from bench.loadgen import load
from bench.world import World, build_world

ROOT = Path(__file__).resolve().parents[1]
CITUS_SQL = ROOT / "deploy" / "citus.sql"


def durable_cluster(root: Path) -> Any:
    """tests/citus/cluster.py's cluster with the single node's durable settings (fsync and
    synchronous commit on, as `servers()` runs it): the tests' nodes skip them."""
    from service.embedded import EmbeddedPostgres
    from tests.citus.cluster import CitusCluster

    class DurableCluster(CitusCluster):
        def _node(self, name: str) -> EmbeddedPostgres:
            node = super()._node(name)
            node.fast = False
            return node

    return DurableCluster(root)


@contextmanager
def citus_servers(name: str = "citus") -> Iterator[tuple[Env, Any]]:
    """A coordinator and two workers (tests/citus/cluster.py) and a Redis, migrated, distributed by
    deploy/citus.sql as an operator runs it, the app role let onto the workers, one tenant."""
    from service.config import get_settings
    from service.db import app_url, libpq_url
    from service.embedded import EmbeddedRedis, pg_tool
    from service.migrate import migrate
    from tests.citus.cluster import build_citus

    log(f"Citus build (or cache): {build_citus():.1f} s")
    root = DATA / name
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    cluster = durable_cluster(root / "nodes")
    redis = EmbeddedRedis(root, persist=False)
    started = time.monotonic()
    try:
        owner = cluster.start()
        redis_url = redis.start()
        os.environ.update(DATABASE_URL=owner, REDIS_URL=redis_url, GROUPBUY_DATA_DIR=str(root),
                          GROUPBUY_ENV="production", GROUPBUY_LOG_LEVEL="WARNING", GROUPBUY_CITUS="true")
        get_settings.cache_clear()
        migrate()
        subprocess.run([pg_tool("psql"), owner, "-q", "-v", "ON_ERROR_STOP=1", "-f", str(CITUS_SQL)],
                       check=True, capture_output=True, timeout=900)
        settings = get_settings()
        cluster.allow_role(settings.app_db_role, settings.app_db_password_value)
        env = Env(owner_url=owner, redis_url=redis_url, data_dir=root, app_url=libpq_url(app_url()))
        env.tenant_id, env.tenant_slug = create_tenant(env)
        log(f"cluster started, migrated and distributed in {time.monotonic() - started:.0f} s")
        try:
            yield env, cluster
        finally:
            from bench.common import stop_process

            for p in env.procs:
                stop_process(p)
    finally:
        os.environ.pop("GROUPBUY_CITUS", None)
        redis.stop()
        cluster.stop()


def _use(env: Env, *, citus: bool) -> None:
    """This process's settings for `env` (the secrets that sign its tokens live in its data dir)."""
    from service.config import get_settings

    os.environ.update(DATABASE_URL=env.owner_url, REDIS_URL=env.redis_url, GROUPBUY_DATA_DIR=str(env.data_dir))
    if citus:
        os.environ["GROUPBUY_CITUS"] = "true"
    else:
        os.environ.pop("GROUPBUY_CITUS", None)
    get_settings.cache_clear()


def _world(env: Env, *, citus: bool, port: int) -> World:
    _use(env, citus=citus)
    world = build_world(env)
    extra = {"GROUPBUY_CITUS": "true"} if citus else {}
    start_api(env, port=port, workers=2, **extra)
    load(port, catalog_requests(world, port), clients=4, seconds=1, warmup=0.5, check=_ok_catalog)
    with env.owner() as conn:
        conn.execute("ANALYZE")
    return world


def tenant_worker(env: Env, world: World) -> dict[str, Any]:
    """Where the bench tenant's shards sit, and how many shards each worker holds."""
    with env.owner() as conn:
        port = conn.execute(
            "SELECT nodeport FROM citus_shards WHERE shardid = get_shard_id_for_distribution_column("
            "'customer_order', %s)", (world.tenant_id,)).fetchone()[0]
        per_worker = conn.execute(
            "SELECT nodeport, count(*) FROM citus_shards WHERE citus_table_type = 'distributed' "
            "GROUP BY 1 ORDER BY 1").fetchall()
    return {"tenant_on_port": port, "shards_per_worker": {str(p): n for p, n in per_worker}}


def scoped_storefront_sql(world: World) -> str:
    """The catalog's storefront statement as the API sends it with GROUPBUY_CITUS=true: every
    table named with the tenant (service/db.py's loader criteria), so Citus routes it to the
    tenant's worker (the correlated subqueries too: the session's tenant as `scope_tenant`).
    Without them it would go to every shard."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.orm import with_loader_criteria

    from service.batches.queries import _BATCH_WITH_STOREFRONT
    from service.columns import SCOPE_TENANT
    from service.db import _tenant_entities

    tenant = world.tenant_id
    statement = _BATCH_WITH_STOREFRONT.options(*(
        with_loader_criteria(entity, lambda cls: cls.tenant_id == tenant, include_aliases=True)
        for entity in _tenant_entities()))
    compiled = statement.compile(dialect=postgresql.dialect())
    values = {"id": f"'{world.catalog_batches[100]}'", SCOPE_TENANT: f"'{tenant}'",
              **{k: f"'{v}'" for k, v in compiled.params.items() if k not in ("id", SCOPE_TENANT)}}
    return str(compiled) % values


def pgbench_tps(url: str, sql: str, *, clients: int, seconds: float) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "q.sql"
        path.write_text(sql + ";\n")
        out = subprocess.run(_pgbench_args(url, path, clients=clients, seconds=seconds), capture_output=True,
                             text=True, cwd=tmp, timeout=seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed: {out.stderr[-2000:]}")
        return _tps(out.stdout)


def pair(name: str, measure: Any, *, runs: int) -> dict[str, Any]:
    """`measure(side)` -> (per second, p99 ms or None); the two sides back to back, `runs` times,
    alternating which goes first."""
    got: dict[str, list[float]] = {"single": [], "citus": []}
    p99: dict[str, list[float]] = {"single": [], "citus": []}
    for run in range(runs):
        for side in (("single", "citus") if run % 2 == 0 else ("citus", "single")):
            rate, tail = measure(side)
            got[side].append(rate)
            if tail is not None:
                p99[side].append(tail)
        log(f"  {name} run {run + 1}: single {got['single'][-1]:.0f}/s, citus {got['citus'][-1]:.0f}/s")
    out: dict[str, Any] = {
        "single_per_second": summary(got["single"]), "citus_per_second": summary(got["citus"]),
        "ratio": ratio_summary(got["citus"], got["single"]),
    }
    if p99["single"]:
        out["single_p99_ms"] = summary(p99["single"])
        out["citus_p99_ms"] = summary(p99["citus"])
    return out


def run(*, runs: int, seconds: float, clients: int, only: set[str]) -> dict[str, Any]:
    results: dict[str, Any] = {"machine": machine(), "runs": runs, "seconds": seconds, "clients": clients}
    with servers("citus-single") as single, citus_servers() as (cluster_env, _cluster):
        ports = {"single": free_port(), "citus": free_port()}
        log("building the storefront world on the single node and on the cluster")
        envs = {"single": single, "citus": cluster_env}
        worlds = {side: _world(envs[side], citus=side == "citus", port=ports[side]) for side in ports}
        results["placement"] = tenant_worker(cluster_env, worlds["citus"])
        if "catalog" in only:
            log("catalog query through the API (100 offers)")

            def catalog(side: str) -> tuple[float, float]:
                r = load(ports[side], catalog_requests(worlds[side], ports[side]), clients=clients,
                         seconds=seconds, check=_ok_catalog)
                return r.rps, r.as_dict()["p99_ms"]

            results["catalog"] = pair("catalog", catalog, runs=runs)
            log("the catalog's storefront statement alone (pgbench, as the owner)")

            def statement(side: str) -> tuple[float, None]:
                sql = scoped_storefront_sql(worlds[side])
                return pgbench_tps(envs[side].owner_url, sql, clients=clients, seconds=seconds), None

            results["catalog_sql"] = pair("storefront statement", statement, runs=runs)
        for shape in ("hot", "spread"):
            if shape not in only:
                continue
            log(f"orderPlace {shape}")

            def order(side: str, hot: bool = shape == "hot") -> tuple[float, float]:
                make = prebuilt(order_requests(worlds[side], ports[side], hot=hot), 4000)
                r = load(ports[side], make, clients=clients, seconds=seconds, check=_ok_order)
                if r.failed and not r.ok:
                    raise RuntimeError(f"every orderPlace failed on {side}")
                return r.rps, r.as_dict()["p99_ms"]

            results[f"order_{shape}"] = pair(f"order {shape}", order, runs=runs)
    return results


def headline(results: dict[str, Any]) -> dict[str, Any]:
    h: dict[str, Any] = {}
    for key in ("catalog", "catalog_sql", "order_hot", "order_spread"):
        if key in results:
            h[f"citus_{key}_ratio"] = round(results[key]["ratio"]["median"], 3)
            h[f"citus_{key}_per_second"] = results[key]["citus_per_second"]["median"]
            h[f"citus_{key}_single_per_second"] = results[key]["single_per_second"]["median"]
    return h


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=6)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--only", default="catalog,hot,spread", help="catalog, hot, spread (comma-separated)")
    args = ap.parse_args()
    results = run(runs=args.runs, seconds=args.seconds, clients=args.clients, only=set(args.only.split(",")))
    h = headline(results)
    full = write_results({"citus": results}, h)
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(json.dumps({"citus": results, "headline": h}, indent=2, default=str))
    log(f"results: {full}")


if __name__ == "__main__":
    main()
