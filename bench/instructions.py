"""Instructions per orderPlace in-process: the API's own work on an order, counted by valgrind.

CPU time on this shared VM moves by half from one minute to the next (a fixed pure-Python loop
took 13.7 to 22.1 ms in one process), so a change of a few percent in the API's work cannot be
seen in seconds. Instructions can: the ASGI app (every middleware, strawberry, auth, tenant, the
resolver, the driver) is called directly on this process's event loop, without HTTP parsing or
a client library, for `--orders` orders, and callgrind counts only that loop (collection is
switched on and off around it with `callgrind_control`). Repeated runs agree to 0.2 %.

    .venv/bin/python -m bench.instructions --callgrind   # instructions per order (~1 min)
    .venv/bin/python -m bench.instructions               # CPU µs per order (noisy)

PostgreSQL runs in its own processes, which valgrind does not follow: only the API is counted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.api import CATALOG, ORDER_PLACE, _gid, order_variables
from bench.common import servers
from bench.world import World, build_world


def _under_callgrind() -> bool:
    return "vgpreload" in os.environ.get("LD_PRELOAD", "")


def _callgrind(switch: str) -> None:
    subprocess.run(["callgrind_control", "-i", switch, str(os.getpid())], capture_output=True, check=True)


async def measure(world: World, orders: int, catalog: bool = False) -> float:
    """CPU seconds of the measured loop (inflated under valgrind: only its instruction count counts)."""
    from service.app import create_app
    from service.db import dispose_engines

    app = create_app()
    startup: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def lifespan_send(message: dict[str, Any]) -> None:
        started.set()

    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, startup.get, lifespan_send))
    await started.wait()
    draw = order_variables(world, hot=False, seed=1)

    def request() -> tuple[bytes, list[tuple[bytes, bytes]]]:
        if catalog:  # benchmark 2's request: a batch of 100 offers, anonymous, by tenant slug
            body = json.dumps({"query": CATALOG,
                               "variables": {"id": _gid("Batch", world.catalog_batches[100])}}).encode()
            return body, [(b"host", b"bench"), (b"content-type", b"application/json"),
                          (b"content-length", str(len(body)).encode()), (b"x-tenant", world.slug.encode())]
        token, variables = draw()
        body = json.dumps({"query": ORDER_PLACE, "variables": variables}).encode()
        return body, [(b"host", b"bench"), (b"content-type", b"application/json"),
                      (b"content-length", str(len(body)).encode()), (b"authorization", f"Bearer {token}".encode())]

    async def one(body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/graphql", "raw_path": b"/graphql", "root_path": "",
                 "query_string": b"", "headers": headers, "client": ("127.0.0.1", 50000),
                 "server": ("127.0.0.1", 8000), "state": {}}
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return messages.pop() if messages else {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        if (b'"errors"' in sent[-1]["body"]) if catalog else (b'"errors":[]' not in sent[-1]["body"]):
            raise AssertionError(sent[-1]["body"][:300])

    for _ in range(200):  # warm: imports, caches, pooled connections, prepared statements
        await one(*request())
    ready = [request() for _ in range(orders)]
    counting = _under_callgrind()
    if counting:
        _callgrind("on")
    t0 = time.process_time()
    for body, headers in ready:
        await one(body, headers)
    cpu = time.process_time() - t0
    if counting:
        _callgrind("off")
    await startup.put({"type": "lifespan.shutdown"})
    await lifespan
    await dispose_engines()
    return cpu


def instructions(out_file: Path) -> int:
    """Total instructions callgrind collected, read from its output file."""
    text = out_file.read_text()
    found = re.search(r"^totals:\s+(\d+)", text, re.M)  # not `summary:`, 0 when collection is toggled
    if found is None:
        raise RuntimeError(f"no instruction total in {out_file}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=300)
    parser.add_argument("--callgrind", action="store_true", help="count instructions under valgrind")
    parser.add_argument("--catalog", action="store_true", help="the catalog read (100 offers) instead of orderPlace")
    args = parser.parse_args()
    if args.callgrind and not _under_callgrind():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "orders.cg"
            subprocess.run(["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}",
                            sys.executable, "-m", "bench.instructions", "--orders", str(args.orders),
                            *(["--catalog"] if args.catalog else [])],
                           check=True, stderr=subprocess.DEVNULL)
            total = instructions(out)
        what = "catalog read" if args.catalog else "orderPlace"
        print(f"{total / args.orders / 1e6:.3f} M instructions per {what} in-process "
              f"({args.orders} orders, {total:,} in all)")
        return
    with servers("instructions") as env:
        world = build_world(env, customers=50)
        try:
            import uvloop

            cpu = uvloop.run(measure(world, args.orders, args.catalog))
        except ImportError:
            cpu = asyncio.run(measure(world, args.orders, args.catalog))
    if not _under_callgrind():
        print(f"{cpu / args.orders * 1e6:.0f} µs of CPU per orderPlace in-process ({args.orders} orders)")


if __name__ == "__main__":
    main()
