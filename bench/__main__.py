"""`make bench`: every benchmark of bench/README.md on this machine, a table, and JSON results.

    python -m bench                     # everything (about 25 minutes on 2 cores)
    python -m bench --only order,catalog --runs 3 --seconds 8
    python -m bench --quick             # a small, fast pass (smoke: minutes, not figures)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from bench.common import RESULTS, log, machine, servers, write_results

ALL = ("overhead", "catalog", "order", "rls", "close", "fanout", "audit")


def headline(results: dict[str, Any]) -> dict[str, Any]:
    h: dict[str, Any] = {}
    order = results.get("order", {})
    for shape in ("hot", "spread"):
        worst = None
        for key, value in order.items():
            if key.startswith(shape + "_c"):
                clients = key.split("_c")[1]
                h[f"order_{shape}_ratio_c{clients}"] = round(value["ratio"]["median"], 3)
                h[f"order_{shape}_per_second_c{clients}"] = value["ours_per_second"]["median"]
                h[f"order_{shape}_pgbench_per_second_c{clients}"] = value["pgbench_per_second"]["median"]
                h[f"order_{shape}_p99_ms_c{clients}"] = value["ours_p99_ms"]["median"]
                if "db_ratio" in value:
                    h[f"order_{shape}_db_ratio_c{clients}"] = round(value["db_ratio"]["median"], 3)
                    h[f"order_{shape}_place_order_per_second_c{clients}"] = value["place_order_per_second"]["median"]
                if "floor_ratio" in value:
                    h[f"order_{shape}_floor_ratio_c{clients}"] = round(value["floor_ratio"]["median"], 3)
                    h[f"order_{shape}_vs_hello_world_c{clients}"] = round(value["vs_hello_world"]["median"], 3)
                worst = value["ratio"]["median"] if worst is None else min(worst, value["ratio"]["median"])
        if worst is not None:
            h[f"order_{shape}_ratio"] = round(worst, 3)  # the worse of the client counts
    cat = results.get("catalog", {})
    if cat:
        if "vs_postgraphile" in cat:
            h["catalog_vs_postgraphile"] = round(cat["vs_postgraphile"]["median"], 3)
        h["catalog_vs_hello_world"] = round(cat["vs_hello_world"]["median"], 3)
        h["catalog_per_second"] = cat["ours_per_second"]["median"]
        h["catalog_sql_statements"] = max(cat["sql_statements"].values())
    close = results.get("close", {})
    if close:
        h["close_vs_raw"] = round(close["headline"]["ratio"], 3)
        h["close_seconds"] = close["headline"]["close_seconds"]
        h["close_raw_seconds"] = close["headline"]["raw_seconds"]
        h["close_worker_peak_mb"] = close["headline"]["worker_peak_mb"]
        h["close_lines"] = close["headline"]["lines"]
        for k, v in close.get("peak_mb_by_lines", {}).items():
            h[f"close_worker_peak_mb_{k}_lines"] = v
    fan = results.get("fanout", {})
    if fan:
        h["fanout_ratio"] = round(fan["ratio"]["median"], 3)
        h["fanout_deliveries_per_second"] = fan["deliveries_per_second"]["median"]
        h["fanout_noop_per_second"] = fan["noop_per_second"]["median"]
    rls = results.get("rls", {})
    if rls:
        measured = {k: v for k, v in rls.items() if k != "control"}
        h["rls_ratio"] = round(min(v["ratio"]["median"] for v in measured.values()), 3)
        for k, v in measured.items():
            h[f"rls_ratio_{k}"] = round(v["ratio"]["median"], 3)
        if "control" in rls:  # two identical APIs: what the method reads when there is no cost
            h["rls_control_ratio"] = round(rls["control"]["ratio"]["median"], 3)
    audit = results.get("audit", {})
    if audit:
        h["audit_ratio"] = audit["sequential_ratio"]["median"]
        h["audit_ratio_spread"] = f"{audit['sequential_ratio']['min']}-{audit['sequential_ratio']['max']}"
        h["audit_added_ms"] = audit["added_ms"]["median"]
        h["audit_concurrent_ratio"] = audit["concurrent_ratio"]["median"]
        h["audit_share_of_http"] = audit["share_of_http"]
    ov = results.get("overhead", {})
    if ov:
        h["graphql_us_per_field"] = ov["strawberry_us_per_field"]["median"]
        h["graphql_core_us_per_field"] = ov["graphql_core_us_per_field"]["median"]
        h["graphql_overhead_ratio"] = round(ov["ratio"]["median"], 3)
    return h


def table(h: dict[str, Any]) -> str:
    rows = [
        ("order hot: ours / pgbench (worst of 8, 64 clients)", "order_hot_ratio", ">= 0.5"),
        ("order spread: ours / pgbench (worst of 8, 64)", "order_spread_ratio", ">= 0.3"),
        ("catalog: ours / PostGraphile", "catalog_vs_postgraphile", ">= 0.5"),
        ("catalog: ours / strawberry hello-world", "catalog_vs_hello_world", ""),
        ("catalog: SQL statements per request (max)", "catalog_sql_statements", "<= 4"),
        ("close: seconds ours / raw SQL", "close_vs_raw", "<= 2"),
        ("close: worker peak RSS MB", "close_worker_peak_mb", "<= 300"),
        ("fan-out: webhooks/s / no-op msgs/s", "fanout_ratio", ">= 0.5"),
        ("RLS: app role / owner (worst)", "rls_ratio", ">= 0.9"),
        ("GraphQL: graphql-core / strawberry time", "graphql_overhead_ratio", ""),
        ("GraphQL: us per resolved field", "graphql_us_per_field", ""),
        ("audit: orderMarkPaid with / without its entry", "audit_ratio", ""),
    ]
    lines = [f"{'benchmark':52} {'median':>10}  target", "-" * 72]
    for label, key, target in rows:
        if key in h:
            lines.append(f"{label:52} {h[key]!s:>10}  {target}")
    extra = sorted(k for k in h if k not in {r[1] for r in rows} and k not in ("generated_at", "full_results"))
    for k in extra:
        lines.append(f"  {k:50} {h[k]!s:>10}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {','.join(ALL)}")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (medians are reported)")
    parser.add_argument("--seconds", type=float, default=8, help="measured seconds per load run")
    parser.add_argument("--lines", type=int, default=1_000_000, help="order lines for the close benchmark")
    parser.add_argument("--small-lines", type=int, default=250_000, help="second close size (flatness)")
    parser.add_argument("--leaders", type=int, default=10_000, help="leaders notified in the fan-out")
    parser.add_argument("--api-workers", type=int, default=2, help="uvicorn workers of the API under test")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks that everything runs")
    parser.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    args = parser.parse_args(argv)
    only = {x.strip() for x in args.only.split(",") if x.strip()}
    unknown = only - set(ALL)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    if args.quick:
        args.runs, args.seconds, args.lines, args.small_lines, args.leaders = 1, 1.5, 20_000, 5_000, 300
    clients = (4, 16) if args.quick else (8, 64)
    started = time.time()
    results: dict[str, Any] = {"machine": machine(), "args": vars(args)}
    failures: dict[str, str] = {}

    def attempt(name: str, fn: Any) -> None:
        """One benchmark; a failure (on this shared machine, other users' clean-ups have stopped
        our servers mid-run) is recorded and the others still run."""
        try:
            fn()
        except Exception as e:  # noqa: BLE001
            import traceback

            log(f"benchmark {name} failed: {e!r}")
            failures[name] = "".join(traceback.format_exception_only(e)).strip()[:2000]

    def overhead_() -> None:
        from bench import overhead

        log("benchmark 6: GraphQL overhead per field")
        results["overhead"] = overhead.run(runs=max(args.runs, 3) if not args.quick else 1,
                                           repeat=20 if args.quick else 200)

    def api_() -> None:
        from bench import api

        with servers("api") as env:
            results.update(api.run(env, runs=args.runs, seconds=args.seconds, client_counts=clients,
                                   only=only, api_workers=args.api_workers))

    def close_() -> None:
        from bench import close

        log("benchmark 3: closing a big batch")
        with servers("close") as env:
            results["close"] = close.run(env, sizes=[args.small_lines, args.lines], runs=min(args.runs, 2))

    def fanout_() -> None:
        from bench import fanout

        log("benchmark 4: notification fan-out")
        with servers("fanout") as env:
            results["fanout"] = fanout.run(env, leaders=args.leaders, runs=min(args.runs, 2))

    def audit_() -> None:
        from bench import audit

        log("benchmark 7: the audit log's cost (orderMarkPaid by API key, with and without its entry)")
        with servers("audit") as env:
            results["audit"] = audit.run(env, runs=args.runs, orders=60 if args.quick else 400)

    if "overhead" in only:
        attempt("overhead", overhead_)
    if only & {"order", "catalog", "rls"}:
        attempt("api", api_)
    if "close" in only:
        attempt("close", close_)
    if "fanout" in only:
        attempt("fanout", fanout_)
    if "audit" in only:
        attempt("audit", audit_)
    if failures:
        results["failures"] = failures
    results["machine"]["load_average_at_end"] = round(__import__("os").getloadavg()[0], 2)
    results["elapsed_seconds"] = round(time.time() - started)
    h = headline(results)
    print(table(h))
    if failures:
        print(f"FAILED: {', '.join(failures)} (see the JSON)")
    if not args.no_write:
        path = write_results(results, {**h, "machine": results["machine"]})
        log(f"results: {path.relative_to(RESULTS.parent.parent)} and bench/results/latest.json")
    else:
        print(json.dumps(h, indent=2))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
