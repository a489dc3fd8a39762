"""In-process profile of the catalog query (benchmark 2's request): private embedded servers,
the bench world, the app through httpx.ASGITransport. Prints CPU ms per request (process time,
so PostgreSQL's own CPU is not counted) and SQL statements per request; optionally a profile.

    .venv/bin/python -m bench.profile_catalog [--requests 300] [--profile pyinstrument|cprofile]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from bench.api import CATALOG, ORDER_PLACE, _gid
from bench.common import log, servers
from bench.world import build_world, did

SMALL = "query($id: ID!) { batch(id: $id) { id title } }"
OFFER_IDS = "query($id: ID!) { batch(id: $id) { offers { id } } }"


async def measure(world, requests: int, profile: str | None, order: bool,  # type: ignore[no-untyped-def]
                  query: str = CATALOG) -> None:
    import httpx
    from sqlalchemy import event

    from service.app import create_app
    from service.db import app_engine, dispose_engines

    app = create_app()
    seen: list[str] = []
    event.listen(app_engine().sync_engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    body = {"query": query, "variables": {"id": _gid("Batch", world.catalog_batches[100])}}
    headers = {"X-Tenant": world.slug}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:

        async def one() -> None:
            r = await client.post("/graphql", json=body, headers=headers)
            assert r.status_code == 200 and "errors" not in r.json(), r.text[:500]

        for _ in range(20):
            await one()
        seen.clear()
        await one()
        log(f"statements per request: {len(seen)}")
        # httpx's own cost, measured alone, to subtract: the same client against a trivial route.
        t0 = time.process_time()
        for _ in range(requests):
            await client.get("/healthz")
        httpx_ms = (time.process_time() - t0) * 1000 / requests
        t0 = time.process_time()
        for _ in range(requests):
            await client.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
        floor_ms = (time.process_time() - t0) * 1000 / requests
        # The same request with smaller selections: where the time goes.
        for smaller in (SMALL, OFFER_IDS):
            part = {"query": smaller, "variables": body["variables"]}
            t0 = time.process_time()
            for _ in range(requests):
                await client.post("/graphql", json=part, headers=headers)
            log(f"  {smaller}: {(time.process_time() - t0) * 1000 / requests:.2f} ms")
        profiler = None
        if profile == "pyinstrument":
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0002, async_mode="disabled")
            profiler.start()
        elif profile == "cprofile":
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        rounds = []
        for _ in range(1 if profiler else 3):  # the least of three rounds: the machine is shared
            t0 = time.process_time()
            for _ in range(requests):
                await one()
            rounds.append((time.process_time() - t0) * 1000 / requests)
        cpu_ms = min(rounds)
        if profile == "pyinstrument":
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False, short_mode=False))
        elif profile == "cprofile":
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
            pstats.Stats(profiler).sort_stats("tottime").print_stats(40)
        log(f"{args_name(query)}: {cpu_ms:.2f} ms CPU per request in-process "
            f"(healthz through the same client: {httpx_ms:.2f} ms, {{ __typename }}: {floor_ms:.2f} ms)")
        if order:
            variables = {"input": {"batchId": _gid("Batch", world.batch_id),
                                   "pickupPointId": _gid("PickupPoint", did("a", 0)),
                                   "lines": [{"offerId": _gid("Offer", did("8", 1)), "quantity": 1}]}}
            t0 = time.process_time()
            for i in range(requests):
                variables["input"]["idempotencyKey"] = f"k{i}-{time.time()}"
                r = await client.post("/graphql", json={"query": ORDER_PLACE, "variables": variables},
                                      headers={"Authorization": f"Bearer {world.tokens[i % len(world.tokens)]}"})
                assert '"errors":[]' in r.text, r.text[:300]
            log(f"orderPlace: {(time.process_time() - t0) * 1000 / requests:.2f} ms CPU per request")
    await dispose_engines()


def args_name(query: str) -> str:
    return {CATALOG: "catalog (100 offers)", SMALL: "batch { id title }", OFFER_IDS: "batch { offers { id } }"}[query]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--profile", choices=["pyinstrument", "cprofile"])
    parser.add_argument("--order", action="store_true", help="also orderPlace's CPU per request")
    parser.add_argument("--query", choices=["catalog", "small", "offer-ids"], default="catalog",
                        help="the request measured and profiled")
    args = parser.parse_args()
    with servers("profile-catalog", fresh=True) as env:
        world = build_world(env, customers=50)
        query = {"catalog": CATALOG, "small": SMALL, "offer-ids": OFFER_IDS}[args.query]
        asyncio.run(measure(world, args.requests, args.profile, args.order, query))


if __name__ == "__main__":
    main()
