"""A light closed-loop HTTP/1.1 load generator: N keep-alive connections, each sending its next
request as soon as the previous answer is read (like pgbench's clients). Raw asyncio streams on
uvloop, so the generator costs far less CPU than the server it measures (httpx would cost more
than the API on this 2-core machine)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.common import percentile


@dataclass
class LoadResult:
    clients: int
    seconds: float
    ok: int
    failed: int
    latencies_ms: list[float]

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "clients": self.clients, "seconds": round(self.seconds, 2), "ok": self.ok, "failed": self.failed,
            "per_second": round(self.rps, 1), "p50_ms": round(percentile(self.latencies_ms, 50), 2),
            "p99_ms": round(percentile(self.latencies_ms, 99), 2),
        }


def graphql_request(path: str, query: str, variables: dict, headers: dict[str, str], port: int) -> bytes:
    body = json.dumps({"query": query, "variables": variables}).encode()
    head = [f"POST {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Content-Type: application/json",
            f"Content-Length: {len(body)}", "Connection: keep-alive"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = None
    chunked = False
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        k = k.strip().lower()
        if k == b"content-length":
            length = int(v.strip())
        elif k == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    if chunked:
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
        return status, body
    return status, await reader.readexactly(length or 0)


async def run_load(
    port: int,
    make_request: Callable[[int, int], bytes],
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.5,
    check: Callable[[bytes], bool] | None = None,
    max_requests: int | None = None,
) -> LoadResult:
    """`make_request(client, n)` gives client's n-th raw request. Counts what completes within
    [warmup, warmup + seconds]."""
    start = time.perf_counter()
    t0 = start + warmup
    t1 = t0 + seconds
    latencies: list[float] = []
    counts = {"ok": 0, "failed": 0, "sent": 0}
    errors: list[str] = []

    async def client(i: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        n = 0
        try:
            while True:
                now = time.perf_counter()
                if now >= t1 or (max_requests and counts["sent"] >= max_requests):
                    return
                counts["sent"] += 1
                writer.write(make_request(i, n))
                n += 1
                sent = time.perf_counter()
                status, body = await _read_response(reader)
                done = time.perf_counter()
                good = status == 200 and (check is None or check(body))
                if t0 <= sent and done <= t1:
                    if good:
                        counts["ok"] += 1
                        latencies.append((done - sent) * 1000)
                    else:
                        counts["failed"] += 1
                        if len(errors) < 3:
                            errors.append(body[:300].decode(errors="replace"))
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = min(time.perf_counter(), t1) - t0
    if errors:
        from bench.common import log

        log(f"  failures, e.g.: {errors[0]}")
    return LoadResult(clients=clients, seconds=elapsed, ok=counts["ok"], failed=counts["failed"],
                      latencies_ms=latencies)


def load(port: int, make_request: Callable[[int, int], bytes], **kw) -> LoadResult:  # type: ignore[no-untyped-def]
    try:
        import uvloop

        return uvloop.run(run_load(port, make_request, **kw))
    except ImportError:
        return asyncio.run(run_load(port, make_request, **kw))
