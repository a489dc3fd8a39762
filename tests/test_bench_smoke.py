"""The benchmark code runs (tiny sizes, no timing assertion): `make bench` is not left to rot."""

from __future__ import annotations

import uuid


def test_graphql_overhead_bench_runs() -> None:
    from bench import overhead

    result = overhead.run(runs=1, repeat=2)
    assert result["fields_per_query"] == 1000
    assert result["strawberry_us_per_field"]["median"] > 0


def test_headline_and_table_from_results() -> None:
    from bench.__main__ import headline, table

    run = {"median": 1.0, "min": 1.0, "max": 1.0, "runs": 1}
    results = {
        "order": {f"{s}_c{c}": {"ratio": run, "ours_per_second": run, "pgbench_per_second": run,
                                "ours_p99_ms": run, "db_ratio": run, "place_order_per_second": run,
                                "floor_ratio": run, "vs_hello_world": run}
                  for s in ("hot", "spread") for c in (8, 64)},
        "catalog": {"vs_postgraphile": run, "vs_hello_world": run, "ours_per_second": run,
                    "sql_statements": {"offers_10": 5, "offers_100": 5}},
        "rls": {"catalog": {"ratio": run}},
        "fanout": {"ratio": run, "deliveries_per_second": run, "noop_per_second": run},
        "close": {"headline": {"ratio": 2.0, "close_seconds": 2, "raw_seconds": 1, "worker_peak_mb": 90,
                               "lines": 10}, "peak_mb_by_lines": {"10": 90}},
    }
    h = headline(results)
    for key in ("order_hot_ratio", "order_spread_ratio", "catalog_vs_postgraphile", "catalog_sql_statements",
                "close_vs_raw", "close_worker_peak_mb", "fanout_ratio", "rls_ratio", "order_hot_db_ratio_c8",
                "order_hot_floor_ratio_c8", "order_spread_vs_hello_world_c64"):
        assert key in h
    assert "order hot" in table(h)


def test_rls_control_is_reported_but_not_the_rls_figure() -> None:
    from bench.__main__ import headline

    def m(x: float) -> dict:
        return {"ratio": {"median": x, "min": x, "max": x, "runs": 1}}

    h = headline({"rls": {"catalog": m(0.95), "order_spread": m(0.93), "control": m(0.80)}})
    assert h["rls_ratio"] == 0.93
    assert h["rls_control_ratio"] == 0.8
    assert "rls_ratio_control" not in h


def test_pgbench_script_names_the_world() -> None:
    from bench.api import pgbench_script
    from bench.world import World

    world = World(tenant_id=uuid.uuid4(), slug="s", batch_id=uuid.uuid4(), customers=[uuid.uuid4()], tokens=["t"])
    script = pgbench_script(world, hot=True)
    assert str(world.batch_id) in script and "UPDATE offer_stock_slot SET sold = sold + 1" in script


def test_place_order_script_calls_the_function_alone_as_the_api_does() -> None:
    from bench.api import place_order_script
    from bench.world import World
    from service.orders.placement import _NAMES

    world = World(tenant_id=uuid.uuid4(), slug="s", batch_id=uuid.uuid4(), customers=[uuid.uuid4()], tokens=["t"])
    script = place_order_script(world, hot=False)
    call = script[script.index("place_order(") + len("place_order("):script.rindex(") AS r")]
    depth, arguments = 0, 1
    for ch in call:
        depth += ch in "(["
        depth -= ch in ")]"
        arguments += ch == "," and depth == 0
    assert arguments == len(_NAMES)  # every argument the API passes: alone true, the token version
    assert call.endswith("true, true, 0") and str(world.batch_id) in call and "random(0, 999)" in script


def test_storefront_sql_is_complete_for_pgbench() -> None:
    """pgbench runs the storefront statement as text: every value in it must be inline."""
    from bench.api import storefront_sql
    from bench.world import World

    batch = uuid.uuid4()
    world = World(tenant_id=uuid.uuid4(), slug="s", batch_id=uuid.uuid4(), customers=[], tokens=[],
                  catalog_batches={100: batch})
    sql = storefront_sql(world)
    assert f"'{batch}'::uuid" in sql and "offer_stock_slot" in sql
    assert "%(" not in sql and ":id" not in sql


def test_instructions_bench_runs_orders_in_process(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """`bench.instructions` places real orders through the ASGI app (here without valgrind)."""
    import os
    import re
    import subprocess
    import sys

    from bench.instructions import instructions

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    out = subprocess.run([sys.executable, "-m", "bench.instructions", "--orders", "20"], capture_output=True,
                         text=True, timeout=300, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"^\d+ µs of CPU per orderPlace in-process \(20 orders\)$", out.stdout, re.M), out.stdout
    cg = tmp_path / "orders.cg"
    cg.write_text("events: Ir\nsummary: 0\ntotals: 639119538\n")
    assert instructions(cg) == 639119538
