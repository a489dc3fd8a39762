"""Benchmarks 1 (order placement vs pgbench), 2 (catalog vs hello-world and PostGraphile) and
5 (row-level security cost), all on one pair of embedded servers and one world."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

from bench.common import (
    PEER_DIR,
    ROOT,
    Env,
    free_port,
    log,
    percentile,
    ratio_summary,
    start_api,
    start_process,
    summary,
)
from bench.loadgen import graphql_request, load
from bench.world import ORDER_OFFERS, POINTS, PRICE, World, build_world, did, oversold

ORDER_PLACE = (
    "mutation($input: OrderPlaceInput!) { orderPlace(input: $input) "
    "{ order { id number status } errors { code field message } } }"
)
CATALOG = """query($id: ID!) { batch(id: $id) { id title closesAt
  offers { id price { amount currency } remainingStock
           product { id name unit supplier { name } } } } }"""


def _gid(kind: str, value: uuid.UUID) -> str:
    from service import global_id

    return global_id.encode(kind, value)


def _ok_order(body: bytes) -> bool:
    return b'"errors":[]' in body and b'"order":{' in body


# -- 1. order placement -------------------------------------------------------------------------
def pgbench_script(world: World, hot: bool) -> str:
    t, b = world.tenant_id, world.batch_id
    offer = "0" if hot else f"random(0, {ORDER_OFFERS - 1})"
    return f"""\\set c random(0, {len(world.customers) - 1})
\\set p random(0, {POINTS - 1})
\\set k {offer}
BEGIN;
INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, customer_name, leader_id, commission_rate, status, currency, total_minor, refunded_minor, pickup_code, idempotency_key, request_hash, commit_checked_at) VALUES ('{t}', gen_random_uuid(), 'B' || substr(md5(random()::text), 1, 15), '{b}', ('00000000-0000-4000-a000-' || lpad(:p::text, 12, '0'))::uuid, ('00000000-0000-4000-9000-' || lpad(:c::text, 12, '0'))::uuid, 'Customer', ('00000000-0000-4000-b000-' || lpad(:p::text, 12, '0'))::uuid, 0.1, 'PENDING_PAYMENT', 'CNY', {PRICE}, 0, lpad(floor(random() * 1e12)::bigint::text, 12, '0'), gen_random_uuid()::text, 'h', clock_timestamp()) RETURNING id AS order_id \\gset
INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, quantity, unit_price_minor, status, stock_slot) VALUES ('{t}', gen_random_uuid(), :order_id::uuid, ('00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid, ('00000000-0000-4000-c000-' || lpad(:k::text, 12, '0'))::uuid, 0, 'Product', 1, {PRICE}, 'ACTIVE', 0);
UPDATE offer_stock_slot SET sold = sold + 1 WHERE tenant_id = '{t}' AND offer_id = ('00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid AND slot = 0 AND (quota IS NULL OR sold + 1 <= quota) RETURNING sold;
END;
"""


def place_order_script(world: World, hot: bool) -> str:
    """The database's part of an orderPlace alone: the statement the API sends, `place_order()`
    as the app role under RLS with the same arguments (alone, so it checks the cutoff itself),
    drawn like the bare script's."""
    t, b = world.tenant_id, world.batch_id
    offer = "0" if hot else f"random(0, {ORDER_OFFERS - 1})"
    return f"""\\set c random(0, {len(world.customers) - 1})
\\set p random(0, {POINTS - 1})
\\set k {offer}
SELECT r.replayed, (r.placed).* FROM place_order('{t}', ('00000000-0000-4000-9000-' || lpad(:c::text, 12, '0'))::uuid, '{b}', ('00000000-0000-4000-a000-' || lpad(:p::text, 12, '0'))::uuid, ARRAY[('00000000-0000-4000-8000-' || lpad(:k::text, 12, '0'))::uuid], ARRAY[1], gen_random_uuid()::text, md5(random()::text), 'P' || substr(md5(random()::text), 1, 14), lpad(floor(random() * 1e6)::int::text, 6, '0'), 'PENDING_PAYMENT', 'CNY', 0.1, true, true, 0) AS r;
"""


def run_pgbench(env: Env, world: World, *, hot: bool, clients: int, seconds: float,
                script: str | None = None, url: str | None = None) -> dict[str, Any]:
    from service.embedded import pg_tool

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "order.sql"
        path.write_text(pgbench_script(world, hot) if script is None else script)
        args = [pg_tool("pgbench"), "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T",
                str(int(seconds)), "-f", str(path), "-l", f"--log-prefix={tmp}/lat", url or env.owner_url]
        out = subprocess.run(args, capture_output=True, text=True, cwd=tmp, timeout=seconds + 120)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed: {out.stderr[-2000:]}")
        tps = float(re.search(r"tps = ([\d.]+) \(without initial", out.stdout).group(1))
        failed = int(m.group(1)) if (m := re.search(r"number of failed transactions: (\d+)", out.stdout)) else 0
        latencies = []
        for f in Path(tmp).glob("lat*"):
            for line in f.read_text().splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[2].isdigit():
                    latencies.append(int(parts[2]) / 1000)
    return {"clients": clients, "per_second": round(tps, 1), "failed": failed,
            "p50_ms": round(percentile(latencies, 50), 2), "p99_ms": round(percentile(latencies, 99), 2)}


def storefront_sql(world: World) -> str:
    """The storefront statement the API runs for the catalog query (batch and offers as JSON)."""
    from sqlalchemy.dialects import postgresql

    from service.batches.queries import _BATCH_WITH_STOREFRONT

    sql = str(_BATCH_WITH_STOREFRONT.compile(dialect=postgresql.dialect()))
    # One node leaves the session's tenant out (service.columns.in_scope): NULL, no restriction.
    return sql.replace("%(id)s", f"'{world.catalog_batches[100]}'::uuid").replace("%(scope_tenant)s", "NULL::uuid")


def _pgbench_args(url: str, path: Path, *, clients: int, seconds: float) -> list[str]:
    from service.embedded import pg_tool

    return [pg_tool("pgbench"), "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(int(seconds)),
            "-f", str(path), url]


def _tps(out: str) -> float:
    return float(re.search(r"tps = ([\d.]+) \(without initial", out).group(1))


def pgbench_side_by_side(urls: tuple[str, str], script: str, *, clients: int, seconds: float
                         ) -> tuple[float, float]:
    """Two pgbench runs of one script at the same time, one per URL: their tps."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "script.sql"
        path.write_text(script)
        procs = [subprocess.Popen(_pgbench_args(url, path, clients=clients, seconds=seconds), cwd=tmp,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for url in urls]
        outs = [p.communicate(timeout=seconds + 120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        if p.returncode != 0:
            raise RuntimeError(f"pgbench failed: {err[-2000:]}")
    return _tps(outs[0][0]), _tps(outs[1][0])


def rls_sql(env: Env, world: World, *, runs: int, seconds: float, clients: int = 8) -> dict[str, Any]:
    """The RLS cost inside PostgreSQL alone: the storefront statement in a transaction that sets
    app.tenant_id, by pgbench as the app role (policies apply) and as the owner (bypassed), side by
    side in the same window."""
    script = (f"BEGIN;\nSELECT set_config('app.tenant_id', '{world.tenant_id}', true);\n"
              f"{' '.join(storefront_sql(world).split())};\nCOMMIT;\n")
    rls, owner = [], []
    for r in range(runs):
        a, b = pgbench_side_by_side((env.app_url, env.owner_url), script, clients=clients, seconds=seconds)
        rls.append(a)
        owner.append(b)
        log(f"  rls storefront SQL run {r + 1}: app role {a:.0f}/s, owner {b:.0f}/s, side by side")
    return {"rls_per_second": summary(rls), "owner_per_second": summary(owner), "ratio": ratio_summary(rls, owner),
            "method": "concurrent"}


def order_variables(world: World, *, hot: bool, seed: int = 7):  # type: ignore[no-untyped-def]
    """A function giving the next orderPlace's (customer token, variables): a random customer and
    pickup point, the hot offer or one of 1,000, a fresh idempotency key."""
    import random

    batch = _gid("Batch", world.batch_id)
    points = [_gid("PickupPoint", did("a", i)) for i in range(POINTS)]
    offers = [_gid("Offer", did("8", i)) for i in range(ORDER_OFFERS)]
    rng = random.Random(seed)

    def draw() -> tuple[str, dict[str, Any]]:
        token = world.tokens[rng.randrange(len(world.tokens))]
        offer = offers[0] if hot else offers[rng.randrange(len(offers))]
        return token, {"input": {"batchId": batch, "pickupPointId": points[rng.randrange(POINTS)],
                                 "lines": [{"offerId": offer, "quantity": 1}],
                                 "idempotencyKey": uuid.uuid4().hex}}

    return draw


def order_requests(world: World, port: int, *, hot: bool):  # type: ignore[no-untyped-def]
    draw = order_variables(world, hot=hot)

    def make(client: int, n: int) -> bytes:
        token, variables = draw()
        return graphql_request("/graphql", ORDER_PLACE, variables, {"Authorization": f"Bearer {token}"}, port)

    return make


def prebuilt(make, count: int):  # type: ignore[no-untyped-def]
    """The next `count` requests of `make`, built before the run: pgbench draws its random values
    in C, and building each request in the Python load generator during the run took CPU from the
    server on the same 2 cores. Past `count`, requests are built as they go."""
    ready = [make(0, n) for n in range(count)]
    ready.reverse()

    def take(client: int, n: int) -> bytes:
        return ready.pop() if ready else make(client, n)

    return take


def bench_orders(env: Env, world: World, port: int, *, runs: int, seconds: float,
                 client_counts: tuple[int, ...], hello_port: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for shape, hot in (("hot", True), ("spread", False)):
        for clients in client_counts:
            raw_runs, db_runs, ours_runs, floor_runs = [], [], [], []
            for r in range(runs):
                got: dict[str, dict[str, Any]] = {}

                def bare(hot: bool = hot, clients: int = clients, got: dict = got) -> None:
                    got["raw"] = run_pgbench(env, world, hot=hot, clients=clients, seconds=seconds)

                def database(hot: bool = hot, clients: int = clients, got: dict = got) -> None:
                    got["db"] = run_pgbench(env, world, hot=hot, clients=clients, seconds=seconds,
                                            script=place_order_script(world, hot), url=env.app_url)

                def api(hot: bool = hot, clients: int = clients, got: dict = got) -> None:
                    requests = prebuilt(order_requests(world, port, hot=hot), int(2500 * (seconds + 2)))
                    got["ours"] = load(port, requests, clients=clients, seconds=seconds, check=_ok_order).as_dict()

                def floor(clients: int = clients, got: dict = got) -> None:
                    # The framework's floor at the same concurrency: a strawberry hello-world on the
                    # same uvicorn settings, no database. No orderPlace can go faster than this.
                    got["floor"] = load(hello_port, hello_requests(hello_port), clients=clients,
                                        seconds=seconds).as_dict()

                # Alternate who goes first: a run leaves dead rows and dirty pages to the next one's
                # autovacuum and checkpoint, which a fixed order would always charge to the same side.
                for step in ((bare, database, api, floor) if r % 2 == 0 else (floor, api, database, bare)):
                    # Every measurement starts with the offers vacuumed: thousands of updates of the
                    # hot offer row leave dead versions that the next side would otherwise inherit.
                    with env.owner() as conn:
                        conn.execute("VACUUM offer")
                    step()
                raw, db, ours, fl = got["raw"], got["db"], got["ours"], got["floor"]
                bad = oversold(env, world.batch_id)
                if bad:
                    raise AssertionError(f"oversold after {shape}/{clients}: {bad[:5]}")
                log(f"  order {shape} c={clients} run {r + 1}: pgbench {raw['per_second']}/s "
                    f"p99 {raw['p99_ms']} ms; place_order() {db['per_second']}/s; orderPlace "
                    f"{ours['per_second']}/s p99 {ours['p99_ms']} ms (failed {ours['failed']}); hello-world "
                    f"{fl['per_second']}/s; books balance")
                floor_runs.append(fl)
                raw_runs.append(raw)
                db_runs.append(db)
                ours_runs.append(ours)
            out[f"{shape}_c{clients}"] = {
                "pgbench": raw_runs, "place_order": db_runs, "orderPlace": ours_runs,
                "pgbench_per_second": summary([x["per_second"] for x in raw_runs]),
                "place_order_per_second": summary([x["per_second"] for x in db_runs]),
                "ours_per_second": summary([x["per_second"] for x in ours_runs]),
                "ours_p50_ms": summary([x["p50_ms"] for x in ours_runs]),
                "ours_p99_ms": summary([x["p99_ms"] for x in ours_runs]),
                "pgbench_p50_ms": summary([x["p50_ms"] for x in raw_runs]),
                "pgbench_p99_ms": summary([x["p99_ms"] for x in raw_runs]),
                "place_order_p99_ms": summary([x["p99_ms"] for x in db_runs]),
                "ratio": ratio_summary([x["per_second"] for x in ours_runs], [x["per_second"] for x in raw_runs]),
                # The database's part alone ÷ bare SQL: the most orderPlace could reach with an API
                # that cost nothing.
                "db_ratio": ratio_summary([x["per_second"] for x in db_runs], [x["per_second"] for x in raw_runs]),
                # The framework's floor (hello-world, no database) ÷ bare SQL: the most any strawberry
                # API could reach here, before it does any work; and orderPlace ÷ that floor.
                "hello_world": floor_runs,
                "hello_per_second": summary([x["per_second"] for x in floor_runs]),
                "floor_ratio": ratio_summary([x["per_second"] for x in floor_runs],
                                             [x["per_second"] for x in raw_runs]),
                "vs_hello_world": ratio_summary([x["per_second"] for x in ours_runs],
                                                [x["per_second"] for x in floor_runs]),
                "oversold_offers": 0,
            }
    out["sell_out"] = sell_out_check(env, world, port)
    return out


def sell_out_check(env: Env, world: World, port: int) -> dict[str, Any]:
    """The hot offer with 300 units left, 64 clients buying it: exactly 300 sold, no more."""
    hot = did("8", 0)
    with env.owner() as conn:
        conn.execute("UPDATE offer o SET stock_limit = offer_sold(o) + 300 WHERE id = %s", (hot,))
    accepted = 0
    for _ in range(40):  # until sold out (each round 3 s), 2 minutes at most
        accepted += load(port, order_requests(world, port, hot=True), clients=64, seconds=3, warmup=0,
                         check=_ok_order).ok
        with env.owner() as conn:
            sold, limit = conn.execute("SELECT offer_sold(o), stock_limit FROM offer o WHERE id = %s",
                                       (hot,)).fetchone()
        if sold >= limit:
            break
    bad = oversold(env, world.batch_id)
    with env.owner() as conn:  # the later benchmarks order the hot offer again
        conn.execute("UPDATE offer SET stock_limit = %s WHERE id = %s", (10**8, hot))
    ok = sold == limit and not bad
    log(f"  sell-out: {accepted} orders accepted in the windows, sold {sold} of {limit}; books balance: {not bad}")
    if not ok:
        raise AssertionError(f"sell-out check failed: sold {sold}, limit {limit}, {bad[:5]}")
    return {"sold": sold, "stock_limit": limit, "oversold": False}


# -- 2. catalog -------------------------------------------------------------------------------------
def catalog_requests(world: World, port: int, size: int = 100):  # type: ignore[no-untyped-def]
    req = graphql_request("/graphql", CATALOG, {"id": _gid("Batch", world.catalog_batches[size])},
                          {"X-Tenant": world.slug}, port)
    return lambda client, n: req


def _ok_catalog(body: bytes) -> bool:
    return b'"errors"' not in body and b'"offers":[' in body


def hello_requests(port: int):  # type: ignore[no-untyped-def]
    req = graphql_request("/graphql", "{ hello }", {}, {}, port)
    return lambda client, n: req


def start_hello(env: Env) -> int:
    port = free_port()
    start_process(env, [sys.executable, "-m", "uvicorn", "bench.hello_app:app", "--workers", "2", "--port",
                        str(port), "--timeout-keep-alive", "5", "--limit-concurrency", "1000",
                        "--no-access-log", "--log-level", "warning"],
                  name="hello", ready_url=f"http://127.0.0.1:{port}/graphql?query=%7Bhello%7D")
    return port


def install_peer() -> bool:
    """PostGraphile 4 from npm into bench/.peer/ (git-ignored), once."""
    if (PEER_DIR / "node_modules" / "postgraphile").exists():
        return True
    import shutil

    if not shutil.which("npm") or not shutil.which("node"):
        return False
    PEER_DIR.mkdir(parents=True, exist_ok=True)
    package = PEER_DIR / "package.json"
    if not package.exists():
        package.write_text('{"name": "groupbuy-bench-peer", "private": true}\n')
    log("  installing PostGraphile 4 into bench/.peer with npm")
    done = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "postgraphile@4", "pg@8"], cwd=PEER_DIR,
                          capture_output=True, text=True, timeout=600)
    if done.returncode:
        log(f"  npm install failed: {done.stderr[-500:]}")
    return (PEER_DIR / "node_modules" / "postgraphile").exists()


def start_postgraphile(env: Env, world: World) -> int | None:
    if not install_peer():
        log("  PostGraphile could not be installed in bench/.peer (node and npm needed): skipped")
        return None
    port = free_port()
    start_process(env, ["node", str(ROOT / "bench" / "peer_server.js")], name="postgraphile",
                  ready_url=f"http://127.0.0.1:{port}/health",
                  NODE_PATH=str(PEER_DIR / "node_modules"), PEER_PORT=str(port),
                  PEER_DATABASE_URL=env.app_url, PEER_TENANT_ID=str(world.tenant_id), PEER_WORKERS="2")
    return port


PEER_CATALOG = """query($id: UUID!, $t: UUID!) { batchByTenantIdAndId(tenantId: $t, id: $id) { id title closesAt
  offersByTenantIdAndBatchId(orderBy: POSITION_ASC) { nodes { id priceMinor stockLimit sold
    productByTenantIdAndProductId { id name unit supplierByTenantIdAndSupplierId { name } } } } } }"""


def peer_requests(world: World, port: int, size: int = 100):  # type: ignore[no-untyped-def]
    req = graphql_request("/graphql", PEER_CATALOG, {"id": str(world.catalog_batches[size]),
                                                    "t": str(world.tenant_id)}, {}, port)
    return lambda client, n: req


def _ok_peer(body: bytes) -> bool:
    return b'"errors"' not in body and b'"nodes":[{' in body


def check_same_answer(world: World, port: int, peer_port: int | None) -> dict[str, int]:
    """Both answer the same 100 offers (a benchmark of different answers would mean nothing)."""
    import httpx

    ours = httpx.post(f"http://127.0.0.1:{port}/graphql", headers={"X-Tenant": world.slug},
                      json={"query": CATALOG, "variables": {"id": _gid("Batch", world.catalog_batches[100])}}).json()
    counts = {"ours": len(ours["data"]["batch"]["offers"])}
    if peer_port:
        peer = httpx.post(f"http://127.0.0.1:{peer_port}/graphql",
                          json={"query": PEER_CATALOG, "variables": {"id": str(world.catalog_batches[100]),
                                                                     "t": str(world.tenant_id)}}).json()
        if "errors" in peer:
            raise RuntimeError(f"PostGraphile query failed: {peer['errors']}")
        nodes = peer["data"]["batchByTenantIdAndId"]["offersByTenantIdAndBatchId"]["nodes"]
        counts["postgraphile"] = len(nodes)
        mine = {o["product"]["name"]: o["remainingStock"] for o in ours["data"]["batch"]["offers"]}
        theirs = {n["productByTenantIdAndProductId"]["name"]: n["stockLimit"] - n["sold"] for n in nodes}
        if mine != theirs:
            raise AssertionError("PostGraphile and groupbuy answer different catalogs")
    return counts


def count_statements(world: World) -> dict[str, int]:
    """SQL statements per catalog request at 10, 50 and 100 offers: the app in-process, a
    `before_cursor_execute` listener on its engine."""
    import asyncio

    import httpx
    from sqlalchemy import event

    from service.app import create_app
    from service.db import app_engine, dispose_engines

    async def main() -> dict[str, int]:
        app = create_app()
        seen: list[str] = []

        def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
            seen.append(statement)

        engine = app_engine().sync_engine
        event.listen(engine, "before_cursor_execute", record)
        out = {}
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
                for size, batch in world.catalog_batches.items():
                    variables = {"id": _gid("Batch", batch)}
                    await client.post("/graphql", json={"query": CATALOG, "variables": variables},
                                      headers={"X-Tenant": world.slug})  # warm caches
                    seen.clear()
                    r = await client.post("/graphql", json={"query": CATALOG, "variables": variables},
                                          headers={"X-Tenant": world.slug})
                    assert len(r.json()["data"]["batch"]["offers"]) == size
                    out[f"offers_{size}"] = len(seen)
        finally:
            event.remove(engine, "before_cursor_execute", record)
            await dispose_engines()
        return out

    return asyncio.run(main())


def bench_catalog(env: Env, world: World, port: int, *, runs: int, seconds: float, hello_port: int,
                  clients: int = 16) -> dict[str, Any]:
    peer_port = start_postgraphile(env, world)
    answers = check_same_answer(world, port, peer_port)
    ours, hello, peer = [], [], []
    for r in range(runs):
        o = load(port, catalog_requests(world, port), clients=clients, seconds=seconds, check=_ok_catalog)
        h = load(hello_port, hello_requests(hello_port), clients=clients, seconds=seconds)
        line = (f"  catalog run {r + 1}: ours {o.rps:.0f}/s p99 {percentile(o.latencies_ms, 99):.1f} ms; "
                f"hello {h.rps:.0f}/s")
        ours.append(o.as_dict())
        hello.append(h.as_dict())
        if peer_port:
            p = load(peer_port, peer_requests(world, peer_port), clients=clients, seconds=seconds, check=_ok_peer)
            peer.append(p.as_dict())
            line += f"; PostGraphile {p.rps:.0f}/s p99 {percentile(p.latencies_ms, 99):.1f} ms"
        log(line)
    per_s = [x["per_second"] for x in ours]
    result: dict[str, Any] = {
        "clients": clients, "answers": answers, "ours": ours, "hello_world": hello, "postgraphile": peer,
        "ours_per_second": summary(per_s), "ours_p99_ms": summary([x["p99_ms"] for x in ours]),
        "hello_per_second": summary([x["per_second"] for x in hello]),
        "vs_hello_world": ratio_summary(per_s, [x["per_second"] for x in hello]),
        "sql_statements": count_statements(world),
    }
    if peer:
        result["postgraphile_per_second"] = summary([x["per_second"] for x in peer])
        result["postgraphile_p99_ms"] = summary([x["p99_ms"] for x in peer])
        result["vs_postgraphile"] = ratio_summary(per_s, [x["per_second"] for x in peer])
    return result


# -- 5. RLS ---------------------------------------------------------------------------------------------
def _side_by_side(ports: tuple[int, int], make, check, *, runs: int, seconds: float,  # type: ignore[no-untyped-def]
                  clients: int) -> tuple[list[float], list[float]]:
    """Both APIs loaded AT THE SAME TIME with the same number of clients each, `runs` times (the
    one started first alternates): whatever else the shared machine does in that window weighs
    on both alike. Their throughputs per run."""
    import threading

    first, second = [], []
    for _ in range(runs):
        got: dict[int, float] = {}

        def one(i: int, p: int, requests, got=got) -> None:  # type: ignore[no-untyped-def]
            got[i] = load(p, requests, clients=clients, seconds=seconds, check=check).rps

        ready = [prebuilt(make(p), int(1500 * (seconds + 2))) for p in ports]
        both = [threading.Thread(target=one, args=(i, p, ready[i])) for i, p in enumerate(ports)]
        for t in (both if len(first) % 2 == 0 else both[::-1]):
            t.start()
        for t in both:
            t.join()
        first.append(got[0])
        second.append(got[1])
    return first, second


def bench_rls(env: Env, world: World, *, runs: int, seconds: float, clients: int = 8,
              api_workers: int = 2) -> dict[str, Any]:
    """The same API started twice for this benchmark, once as the app role under RLS and once
    connected as the owner, which bypasses RLS (GROUPBUY_APP_DATABASE_URL = the owner URL), warmed
    alike and loaded side by side: the ratio of their throughputs is the RLS cost. Both are fresh
    because the API that had served the earlier benchmarks, compared with a fresh one of the SAME
    role, gave 0.71-0.99 (medians 0.96, 0.98), while two fresh ones gave 0.98-1.04: its history,
    not RLS, was in the figure. An A/A control (a third API, app role too, against the first)
    reports what the method itself reads when there is no difference at all."""
    from bench.common import stop_process

    ports = {"app": free_port(), "owner": free_port(), "app_control": free_port()}
    procs = [start_api(env, port=ports["app"], workers=api_workers),
             start_api(env, port=ports["owner"], workers=api_workers, GROUPBUY_APP_DATABASE_URL=env.owner_url),
             start_api(env, port=ports["app_control"], workers=api_workers)]
    workloads = (("catalog", lambda p: catalog_requests(world, p), _ok_catalog),
                 ("order_spread", lambda p: order_requests(world, p, hot=False), _ok_order))
    out: dict[str, Any] = {}
    try:
        # Warmed alike: imports, pools, prepared statements, caches, both workloads.
        for _, make, check in workloads:
            _side_by_side((ports["app"], ports["owner"]), make, check, runs=1, seconds=2, clients=clients)
            load(ports["app_control"], make(ports["app_control"]), clients=clients, seconds=2, check=check)
        for name, make, check in workloads:
            rls, owner = _side_by_side((ports["app"], ports["owner"]), make, check, runs=runs, seconds=seconds,
                                       clients=clients)
            for r, (a, b) in enumerate(zip(rls, owner, strict=True)):
                log(f"  rls {name} run {r + 1}: app role {a:.0f}/s, owner (no RLS) {b:.0f}/s, side by side")
            out[name] = {"rls_per_second": summary(rls), "owner_per_second": summary(owner),
                         "ratio": ratio_summary(rls, owner), "method": "concurrent, both APIs fresh"}
        if oversold(env, world.batch_id):
            raise AssertionError("oversold during the RLS benchmark")
        out["storefront_sql"] = rls_sql(env, world, runs=runs, seconds=seconds, clients=clients)
        a, b = _side_by_side((ports["app"], ports["app_control"]), workloads[0][1], _ok_catalog, runs=runs,
                             seconds=seconds, clients=clients)
        log(f"  A/A control, catalog, app role ÷ app role: {', '.join(f'{x / y:.3f}' for x, y in zip(a, b, strict=True))}")
        out["control"] = {"ratio": ratio_summary(a, b), "method": "the catalog on two fresh app-role APIs"}
    finally:
        for p in procs:
            stop_process(p)
    return out


def run(env: Env, *, runs: int, seconds: float, client_counts: tuple[int, ...] = (8, 64),
        only: set[str] | None = None, api_workers: int = 2) -> dict[str, Any]:
    log("building the storefront world")
    world = build_world(env)
    port = free_port()
    start_api(env, port=port, workers=api_workers)
    # Warm both workers (imports, pools, prepared statements).
    load(port, order_requests(world, port, hot=False), clients=8, seconds=2, warmup=0.5, check=_ok_order)
    load(port, catalog_requests(world, port), clients=8, seconds=1, warmup=0.5, check=_ok_catalog)
    # Statistics as autovacuum keeps them in production: without this, the order tables were
    # analyzed empty, and every session's cached plans (foreign-key checks on customer_order
    # among them) scanned the growing table until autovacuum's next visit, for ours and for
    # pgbench alike; the figures then depended on when that visit fell.
    with env.owner() as conn:
        conn.execute("ANALYZE")
    results: dict[str, Any] = {}
    # The framework's floor, one app for the catalog and the order benchmarks.
    hello_port = start_hello(env) if only is None or only & {"catalog", "order"} else 0
    if only is None or "catalog" in only:
        log("benchmark 2: catalog")
        results["catalog"] = bench_catalog(env, world, port, runs=runs, seconds=seconds, hello_port=hello_port)
    if only is None or "order" in only:
        log("benchmark 1: order placement")
        results["order"] = bench_orders(env, world, port, runs=runs, seconds=seconds, client_counts=client_counts,
                                        hello_port=hello_port)
    if only is None or "rls" in only:
        log("benchmark 5: RLS")
        results["rls"] = bench_rls(env, world, runs=runs, seconds=seconds, api_workers=api_workers)
    return results
