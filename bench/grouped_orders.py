"""What placing several orders per statement saves in the database, without the API around it.

Not one of `make bench`'s figures: measured in session 8 to decide on grouping orders, before
`place_order_group()` existed (with a wrapper of its own), and now run against `place_order_group()`
itself. Two client processes (as the API's two workers) place orders on the app role in
autocommit, as the API does:

- `1 per statement`: 4 connections per process, one `place_order()` per round trip (an order alone);
- `k per statement`: one `place_order_group()` places k orders, each in its own subtransaction (a
  refusal refuses only its order), and commits them together (`k = 2`: 2 connections per
  process; `k = 4`: 1).

Per mode: orders/s, the client processes' CPU per order, and the rest of the machine's CPU per
order (PostgreSQL, for nearly all of it), modes alternated within each round.

    .venv/bin/python -m bench.grouped_orders [--hot] [--rounds 4] [--seconds 6]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import statistics
import time
import uuid
from typing import Any

from bench.api import ORDER_OFFERS, POINTS
from bench.common import log, servers
from bench.world import World, build_world, did

ONE = ("SELECT r.replayed, (r.placed).* FROM place_order(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
       "'PENDING_PAYMENT', 'CNY', 0.1, true, true) AS r")
MANY = ("SELECT r.error_state FROM place_order_group(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'PENDING_PAYMENT', "
        "'CNY', 0.1, 100) AS r")
CONNECTIONS = 4  # per client process, as the API's driver pool


def _client(url: str, world: World, k: int, seconds: float, hot: bool, seed: int, out: Any) -> None:
    import psycopg

    rng = random.Random(seed)
    t, b = world.tenant_id, world.batch_id

    def order() -> tuple[Any, ...]:
        offer = did("8", 0 if hot else rng.randrange(ORDER_OFFERS))
        return (world.customers[rng.randrange(len(world.customers))], did("a", rng.randrange(POINTS)), offer,
                uuid.uuid4().hex, "B" + uuid.uuid4().hex[:14], f"{rng.randrange(10**6):06d}")

    async def main() -> tuple[int, int]:
        stop = time.perf_counter() + seconds
        placed = refused = 0

        async def connection() -> None:
            nonlocal placed, refused
            conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
            while time.perf_counter() < stop:
                if k == 1:
                    c, p, o, key, number, code = order()
                    await conn.execute(ONE, (t, c, b, p, [o], [1], key, "h", number, code), prepare=True)
                    placed += 1
                    continue
                c, p, o, key, number, code = map(list, zip(*(order() for _ in range(k)), strict=True))
                cur = await conn.execute(MANY, (t, b, c, p, [1] * k, o, [1] * k, key, ["h"] * k, number, code),
                                         prepare=True)
                for (state,) in await cur.fetchall():
                    placed += state is None
                    refused += state is not None
            await conn.close()

        await asyncio.gather(*(connection() for _ in range(max(1, CONNECTIONS // k))))
        return placed, refused

    cpu = time.process_time()
    placed, refused = asyncio.run(main())
    out.put((placed, refused, time.process_time() - cpu))


def _machine_cpu() -> float:
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")  # user nice system irq softirq


def _run(env: Any, world: World, k: int, seconds: float, hot: bool, seed: int) -> tuple[float, float, float]:
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    machine = _machine_cpu()
    children = [ctx.Process(target=_client, args=(env.app_url, world, k, seconds, hot, seed + i, out)) for i in range(2)]
    for c in children:
        c.start()
    got = [out.get() for _ in children]
    for c in children:
        c.join()
    machine = _machine_cpu() - machine
    placed = sum(g[0] for g in got)
    if sum(g[1] for g in got):
        raise AssertionError(f"{sum(g[1] for g in got)} orders refused: the comparison needs every order placed")
    client = sum(g[2] for g in got)
    return placed / seconds, client / placed * 1e6, (machine - client) / placed * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.grouped_orders")
    parser.add_argument("--hot", action="store_true", help="every order on the one hot offer")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    with servers("grouped") as env:
        world = build_world(env)
        # Orders in the tables and statistics that know them (autovacuum's analyze in production).
        _run(env, world, 1, 5, False, 900)
        with env.owner() as conn:
            conn.execute("ANALYZE")
        modes = (1, 2, 4)
        found: dict[int, list[tuple[float, float, float]]] = {k: [] for k in modes}
        for r in range(args.rounds):
            for k in modes if r % 2 == 0 else modes[::-1]:
                with env.owner() as conn:
                    conn.execute("VACUUM offer_stock_slot")
                found[k].append(_run(env, world, k, args.seconds, args.hot, 10 * r))
                rate, client, rest = found[k][-1]
                log(f"round {r + 1}, {k} per statement: {rate:.0f} orders/s; CPU per order: clients {client:.0f} µs, "
                    f"PostgreSQL and the rest {rest:.0f} µs")
        print(f"\n{'hot offer' if args.hot else '1,000 offers'}: median [min–max] of {args.rounds} rounds")
        print("| orders per statement | orders/s | client CPU µs/order | PostgreSQL (and rest) CPU µs/order |")
        print("| --- | --- | --- | --- |")
        for k, rows in found.items():
            cells = []
            for i in range(3):
                xs = [row[i] for row in rows]
                cells.append(f"{statistics.median(xs):.0f} [{min(xs):.0f}–{max(xs):.0f}]")
            print(f"| {k} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
