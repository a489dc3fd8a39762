"""`python -m bench.report [results.json]`: the markdown tables of bench/README.md from a full
results file (default: the one bench/results/latest.json names)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.common import RESULTS


def _m(s: dict[str, Any], digits: int = 1) -> str:
    fmt = f"{{:.{digits}f}}"
    return f"{fmt.format(s['median'])} [{fmt.format(s['min'])}–{fmt.format(s['max'])}]"


def report(r: dict[str, Any]) -> str:
    out: list[str] = []
    m = r["machine"]
    out.append(f"Machine: {m['cpus']} vCPU ({m['cpu_model']}), {m['memory_mb'] // 1024} GiB, Python {m['python']}; "
               f"load average {m['load_average_at_start']} at start, {m.get('load_average_at_end')} at end; "
               f"{r['args']['runs']} runs of {r['args']['seconds']:g} s per load figure. "
               "Cells: median [min–max] of the runs.\n")
    if "order" in r:
        out.append("**1. Order placement** (orders/s; p99 ms; ratio = orderPlace ÷ pgbench, run for run; "
                   "database part = `place_order()` alone under pgbench ÷ pgbench; floor = a strawberry "
                   "hello-world, no database, ÷ pgbench)\n")
        out.append("| shape | clients | pgbench /s | pgbench p99 | place_order() /s | database part | hello-world /s "
                   "| floor | orderPlace /s | orderPlace p50 | orderPlace p99 | ratio |")
        out.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for key, v in r["order"].items():
            if key == "sell_out":
                continue
            shape, clients = key.split("_c")
            db = (f"{_m(v['place_order_per_second'], 0)} | {_m(v['db_ratio'], 3)}" if "db_ratio" in v
                  else "– | –")
            fl = (f"{_m(v['hello_per_second'], 0)} | {_m(v['floor_ratio'], 3)}" if "floor_ratio" in v
                  else "– | –")
            out.append(f"| {shape} | {clients} | {_m(v['pgbench_per_second'], 0)} | {_m(v['pgbench_p99_ms'])} | {db} | "
                       f"{fl} | {_m(v['ours_per_second'], 0)} | {_m(v['ours_p50_ms'])} | {_m(v['ours_p99_ms'])} | "
                       f"{_m(v['ratio'], 3)} |")
        so = r["order"].get("sell_out")
        if so:
            out.append(f"\nNo oversell after any run; sell-out: {so['sold']} sold of a limit of {so['stock_limit']}.\n")
    if "catalog" in r:
        c = r["catalog"]
        out.append(f"**2. Catalog**, 100 offers, {c['clients']} clients (requests/s; p99 ms)\n")
        out.append("| server | requests/s | p99 ms | ours ÷ it |")
        out.append("| --- | --- | --- | --- |")
        out.append(f"| groupbuy | {_m(c['ours_per_second'], 0)} | {_m(c['ours_p99_ms'])} | |")
        if "postgraphile_per_second" in c:
            out.append(f"| PostGraphile 4 (2 processes, app role + pgSettings) | {_m(c['postgraphile_per_second'], 0)} | "
                       f"{_m(c['postgraphile_p99_ms'])} | {_m(c['vs_postgraphile'], 3)} |")
        hello = [x["p99_ms"] for x in c["hello_world"]]
        out.append(f"| strawberry hello-world | {_m(c['hello_per_second'], 0)} | {sorted(hello)[len(hello) // 2]} | "
                   f"{_m(c['vs_hello_world'], 3)} |")
        s = c["sql_statements"]
        counts = ", ".join(f"{k.split('_')[1]} offers: {v}" for k, v in s.items())
        out.append(f"\nSQL statements per catalog request: {counts}.\n")
    if "rls" in r:
        out.append("**5. RLS** (8 clients; app role under RLS ÷ owner without RLS)\n")
        out.append("| query | app role /s | owner /s | ratio |")
        out.append("| --- | --- | --- | --- |")
        for k, v in r["rls"].items():
            if k != "control":
                out.append(f"| {k} | {_m(v['rls_per_second'], 0)} | {_m(v['owner_per_second'], 0)} | {_m(v['ratio'], 3)} |")
        if "control" in r["rls"]:
            out.append(f"\nA/A control (catalog, two fresh app-role APIs side by side): {_m(r['rls']['control']['ratio'], 3)}")
        out.append("")
    if "close" in r:
        out.append("**3. Close** (seconds; the close actor end to end ÷ the bare aggregates in psql)\n")
        out.append("| order lines | raw SQL s | close actor s | ratio | worker peak RSS MB |")
        out.append("| --- | --- | --- | --- | --- |")
        for k, v in r["close"]["by_lines"].items():
            out.append(f"| {int(k):,} | {_m(v['raw_seconds'], 2)} | {_m(v['close_seconds'], 1)} | {_m(v['ratio'], 1)} | "
                       f"{_m(v['worker_peak_mb'], 1)} |")
        out.append("")
    if "fanout" in r:
        f = r["fanout"]
        out.append(f"**4. Fan-out**, {f['leaders']:,} leaders: {_m(f['deliveries_per_second'], 0)} webhooks/s vs "
                   f"{_m(f['noop_per_second'], 0)} no-op messages/s: ratio {_m(f['ratio'], 3)}.\n")
    if "overhead" in r:
        o = r["overhead"]
        out.append(f"**6. GraphQL overhead**: strawberry {_m(o['strawberry_us_per_field'], 2)} µs per resolved field; "
                   f"graphql-core over dicts {_m(o['graphql_core_us_per_field'], 2)} µs; graphql-core ÷ strawberry "
                   f"{_m(o['ratio'], 3)}.\n")
    if r.get("failures"):
        out.append(f"Failed in this run: {r['failures']}\n")
    return "\n".join(out)


def main() -> None:
    if len(sys.argv) > 1:
        path = Path(sys.argv[1])
    else:
        path = RESULTS / json.loads((RESULTS / "latest.json").read_text())["full_results"]
    print(report(json.loads(path.read_text())))


if __name__ == "__main__":
    main()
