"""Benchmark: releasing 100,000 frozen commissions. Ours: release_frozen_commissions() (what the
scheduler's job calls), which also appends a RELEASED ledger entry per commission (its statement
trigger) and a COMMISSION_AVAILABLE event per leader; baseline: a bare SQL UPDATE setting
released_at on the same rows, with triggers off. Each run is a transaction rolled back, so every
run sees the same 100,000 due rows; baseline and ours alternate, back to back.

    python -m bench.ledger_release [--commissions 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import Env, log, ratio_summary, servers, summary

LEADERS = 1000
BARE = ("UPDATE commission_entry c SET released_at = clock_timestamp() FROM tenant t "
        "WHERE t.id = c.tenant_id AND c.released_at IS NULL AND c.earned_at IS NOT NULL "
        "AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)")


def generate(env: Env, commissions: int, seed: int = 1) -> None:
    """`commissions` EARNED commissions of LEADERS leaders, earned 30 days ago, loaded with COPY
    (triggers and foreign-key checks off for the load: the orders they name are not generated)."""
    rng = random.Random(seed)
    t = env.tenant_id
    users = [uuid.uuid4() for _ in range(LEADERS)]
    leaders = [uuid.uuid4() for _ in range(LEADERS)]
    earned = datetime.now(UTC) - timedelta(days=30)
    batch = uuid.uuid4()
    with env.owner() as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            cur = conn.cursor()
            with cur.copy("COPY app_user (tenant_id, id, kind, display_name, phone, password_hash) FROM STDIN") as cp:
                for i, u in enumerate(users):
                    cp.write_row((t, u, "CUSTOMER", f"团长 {i}", f"+8613{i:09d}", "x"))
            with cur.copy("COPY leader (tenant_id, id, user_id, display_name, phone, status, commission_rate) "
                          "FROM STDIN") as cp:
                for i, (ld, u) in enumerate(zip(leaders, users, strict=True)):
                    cp.write_row((t, ld, u, f"团长 {i}", f"+8613{i:09d}", "APPROVED", "0.1"))
            with cur.copy("COPY commission_entry (tenant_id, id, leader_id, order_id, batch_id, rate, currency, "
                          "amount_minor, reversed_minor, status, earned_at, created_at) FROM STDIN") as cp:
                for i in range(commissions):
                    o = uuid.uuid4()
                    cp.write_row((t, o, leaders[i % LEADERS], o, batch, "0.1", "CNY", rng.randint(10, 5000), 0,
                                  "EARNED", earned, earned - timedelta(days=1)))
        conn.execute("ANALYZE commission_entry")


def _timed(env: Env, sql: str, *, triggers: bool) -> tuple[float, int]:
    with env.owner() as conn:
        conn.autocommit = False
        if not triggers:
            conn.execute("SET session_replication_role = replica")
        start = time.perf_counter()
        cur = conn.execute(sql)
        rows = cur.rowcount if not triggers else int(cur.fetchone()[0])
        elapsed = time.perf_counter() - start
        if triggers:
            entries = conn.execute("SELECT count(*) FROM ledger_entry WHERE kind = 'RELEASED'").fetchone()[0]
            assert entries == rows, (entries, rows)
        conn.rollback()
    return elapsed, rows


def run(env: Env, *, commissions: int = 100_000, runs: int = 3) -> dict[str, Any]:
    log(f"ledger release: generating {commissions:,} earned commissions")
    generate(env, commissions)
    ours, base = [], []
    for i in range(runs):
        b, n_base = _timed(env, BARE, triggers=False)
        o, n_ours = _timed(env, f"SELECT coalesce(sum(commissions), 0) FROM release_frozen_commissions({commissions})",
                           triggers=True)
        assert n_base == n_ours == commissions, (n_base, n_ours)
        base.append(b)
        ours.append(o)
        log(f"ledger release run {i + 1}: ours {o:.2f} s, bare UPDATE {b:.2f} s, ratio {o / b:.2f}")
    return {"commissions": commissions, "ours_seconds": summary(ours), "bare_update_seconds": summary(base),
            "ratio": ratio_summary(ours, base)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--commissions", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with servers("ledger") as env:
        result = run(env, commissions=args.commissions, runs=args.runs)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
