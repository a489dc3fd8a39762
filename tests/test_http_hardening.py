"""A real `groupbuy serve` process under hostile connections, and what its listeners show:
request headers time out, connections that never finish them crowd out nobody, /metrics and
component details are off the public listener, readiness follows what serving needs (the
database, not Redis), and every response carries the security headers."""

from __future__ import annotations

import os
import re
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

from service.embedded import EmbeddedRedis, free_port

HEADER_TIMEOUT = 8.0
PER_ADDRESS = 8
STOREFRONT = "query Storefront { tenant { name } pickupPoints { edges { node { name } } } }"


@dataclass
class Server:
    proc: subprocess.Popen
    base: str
    port: int
    metrics: str


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def start_server(services, tmp_path_factory) -> Iterator[Callable[..., Server]]:  # type: ignore[no-untyped-def]
    started: list[subprocess.Popen] = []
    logs = tmp_path_factory.mktemp("serve-logs")

    def start(**env: str) -> Server:
        port, metrics_port = free_port(), free_port()
        log = open(Path(logs) / f"serve-{port}.log", "w")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env={**os.environ, "GROUPBUY_LOG_LEVEL": "WARNING", "GROUPBUY_METRICS_PORT": str(metrics_port),
                 "GROUPBUY_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
                 "GROUPBUY_MAX_PENDING_CONNECTIONS_PER_ADDRESS": str(PER_ADDRESS), **env},
            stdout=log, stderr=subprocess.STDOUT,
        )
        started.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while not _healthy(base):
            assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        return Server(proc, base, port, f"http://127.0.0.1:{metrics_port}")

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def server(start_server) -> Server:  # type: ignore[no-untyped-def]
    return start_server()


def _raise_open_files() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _slow_connection(port: int, source: str) -> socket.socket:
    """A connection from `source` (any 127/8 address is this host) that starts its request head
    and never finishes it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source, 0))
    sock.connect(("127.0.0.1", port))
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: groupbuy\r\nX-Slow: ")
    return sock


def _closed_by_server(sockets: list[socket.socket], within: float) -> set[socket.socket]:
    """The sockets the server closed (EOF, possibly after a 408) within `within` seconds."""
    selector = selectors.DefaultSelector()
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    closed: set[socket.socket] = set()
    deadline = time.monotonic() + within
    while len(closed) < len(sockets) and (left := deadline - time.monotonic()) > 0:
        for key, _ in selector.select(left):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            if data and not data.startswith(b"HTTP/1.1 408"):
                raise AssertionError(f"unexpected answer to a slow request head: {data[:60]!r}")
            if not data or data.endswith(b"\r\n\r\n"):
                closed.add(sock)
                selector.unregister(sock)
    selector.close()
    return closed


def _timed(fn: Callable[[], httpx.Response]) -> float:
    started = time.perf_counter()
    response = fn()
    elapsed = time.perf_counter() - started
    assert response.status_code == 200, (response.status_code, response.text[:200])
    return elapsed


def test_slow_headers_time_out_and_crowd_out_no_one(server, tenant) -> None:  # type: ignore[no-untyped-def]
    """1,100 connections that never finish their request heads (uvicorn's limit_concurrency=1000
    counted them and answered everyone else 503; nothing ever closed them), from 275 addresses.
    /healthz and a storefront query, each on a new connection, keep their latency; the slow
    connections are closed once the header timeout has passed."""
    attackers = 1100
    assert _raise_open_files() > attackers + 200, "the hard open files limit is too low for this test"
    # A new connection per request: the clients that matter are the ones arriving during the attack.
    client = httpx.Client(base_url=server.base, timeout=10, limits=httpx.Limits(max_keepalive_connections=0))

    def healthz() -> httpx.Response:
        return client.get("/healthz")

    def storefront() -> httpx.Response:
        return client.post("/graphql", json={"query": STOREFRONT}, headers={"X-Tenant": tenant.slug})

    def medians(rounds: int = 15) -> tuple[float, float]:
        h, g = [], []
        for _ in range(rounds):
            h.append(_timed(healthz))
            g.append(_timed(storefront))
        return statistics.median(h), statistics.median(g)

    medians(3)  # warm up
    idle_health, idle_query = medians()

    sockets: list[socket.socket] = []
    try:
        opened = time.monotonic()
        for i in range(attackers):
            sockets.append(_slow_connection(server.port, f"127.0.{1 + i // 1000}.{1 + (i // 4) % 250}"))
        time.sleep(1.0)  # the server has taken them all in: what follows is the steady state
        attack_health, attack_query = medians()
        measured = time.monotonic() - opened
        # The attack was in force throughout: every slow connection still open.
        early = _closed_by_server(sockets, within=0.5)
        assert measured < HEADER_TIMEOUT - 1, f"measuring took {measured:.1f} s: the attack had ended"
        assert not early, len(early)

        closed = _closed_by_server([s for s in sockets if s not in early], within=HEADER_TIMEOUT + 5)
        assert len(closed) + len(early) == attackers, f"{attackers - len(closed) - len(early)} still open"
        assert time.monotonic() - opened >= HEADER_TIMEOUT - 0.5
    finally:
        for sock in sockets:
            sock.close()
    health_ratio, query_ratio = attack_health / idle_health, attack_query / idle_query
    print(f"\nslow headers x{attackers}: /healthz {idle_health * 1000:.1f} -> {attack_health * 1000:.1f} ms "
          f"(x{health_ratio:.2f}); storefront query {idle_query * 1000:.1f} -> {attack_query * 1000:.1f} ms "
          f"(x{query_ratio:.2f})")
    assert health_ratio < 5 and query_ratio < 5, (health_ratio, query_ratio)
    assert _timed(healthz) > 0  # and served after the attack


def test_one_address_holds_few_waiting_connections(server) -> None:  # type: ignore[no-untyped-def]
    """Connections of one address still waiting for their headers are capped: the ones over the
    cap are closed at once, the others when the header timeout ends; then the address is served."""
    _raise_open_files()
    sockets = [_slow_connection(server.port, "127.0.9.9") for _ in range(PER_ADDRESS + 5)]
    try:
        refused = _closed_by_server(sockets, within=1.0)
        assert len(refused) == 5
        kept = [s for s in sockets if s not in refused]
        started = time.monotonic()
        assert len(_closed_by_server(kept, within=HEADER_TIMEOUT + 5)) == PER_ADDRESS
        assert time.monotonic() - started >= HEADER_TIMEOUT - 2
    finally:
        for sock in sockets:
            sock.close()
    sock = socket.socket()
    sock.bind(("127.0.9.9", 0))
    sock.connect(("127.0.0.1", server.port))
    sock.settimeout(5)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: groupbuy\r\nConnection: close\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    finally:
        sock.close()


def test_the_oldest_waiting_connections_make_room(start_server) -> None:  # type: ignore[no-untyped-def]
    """Past GROUPBUY_MAX_PENDING_CONNECTIONS waiting in all (from many addresses), the oldest are
    closed for new ones: a client that sends its request promptly is always let in."""
    server = start_server(GROUPBUY_MAX_PENDING_CONNECTIONS="40")
    sockets = [_slow_connection(server.port, f"127.0.8.{1 + i // 2}") for i in range(60)]
    try:
        time.sleep(0.5)
        for _ in range(5):
            assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        closed = _closed_by_server(sockets, within=1.0)
        assert len(closed) >= 20
        assert set(sockets[:20]) <= closed  # the oldest went first
        assert not set(sockets[-30:]) & closed
    finally:
        for sock in sockets:
            sock.close()


def test_a_header_sent_byte_by_byte_still_times_out(server) -> None:  # type: ignore[no-untyped-def]
    """The deadline runs from the connection, not from the last byte: trickling does not extend it."""
    sock = socket.create_connection(("127.0.0.1", server.port))
    try:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sock.settimeout(0.5)
        answer = b""
        while time.monotonic() - started < HEADER_TIMEOUT + 5:
            try:
                sock.sendall(b"X")
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            answer += chunk
            if not chunk:
                break
        elapsed = time.monotonic() - started
        assert answer.startswith(b"HTTP/1.1 408") or answer == b""
        assert HEADER_TIMEOUT - 1 <= elapsed < HEADER_TIMEOUT + 3, elapsed
    finally:
        sock.close()


def test_requests_in_flight_are_capped_not_idle_connections(start_server) -> None:  # type: ignore[no-untyped-def]
    """GROUPBUY_MAX_REQUESTS_IN_FLIGHT counts requests being served (here two whose bodies never
    come), not connections: beyond it a request gets 503 at once, /healthz is still answered,
    and once those requests end (408 after the body timeout) requests are served again."""
    server = start_server(GROUPBUY_MAX_REQUESTS_IN_FLIGHT="2", GROUPBUY_BODY_TIMEOUT_SECONDS="3")
    idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(5)]  # never send a byte
    stuck = []
    try:
        for _ in range(2):
            sock = socket.create_connection(("127.0.0.1", server.port))
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
                         b"Content-Length: 100\r\n\r\n{")
            stuck.append(sock)
        time.sleep(0.5)
        query = {"query": "{ __typename }"}
        refused = httpx.post(f"{server.base}/graphql", json=query, timeout=5)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert httpx.get(f"{server.base}/healthz", timeout=5).status_code == 200
        for sock in stuck:
            sock.settimeout(10)
            assert sock.recv(4096).startswith(b"HTTP/1.1 408")
        assert httpx.post(f"{server.base}/graphql", json=query, timeout=5).status_code == 200
    finally:
        for sock in idle + stuck:
            sock.close()


# -- item 19: /metrics off the public listener ------------------------------------------------


def test_metrics_and_status_are_on_the_internal_listener_only(server) -> None:  # type: ignore[no-untyped-def]
    public = httpx.get(f"{server.base}/metrics")
    assert public.status_code == 404 and "groupbuy_" not in public.text
    assert httpx.get(f"{server.base}/status").status_code == 404
    internal = httpx.get(f"{server.metrics}/metrics")
    assert internal.status_code == 200 and "groupbuy_http_requests_total" in internal.text
    assert httpx.get(f"{server.metrics}/status").json() == {"status": "ok", "database": "ok", "redis": "ok"}
    # The internal listener serves nothing else, and only on the loopback address.
    assert httpx.post(f"{server.metrics}/graphql", json={"query": "{ __typename }"}).status_code == 404
    port = int(server.metrics.rsplit(":", 1)[1])
    listening = {c.laddr for c in psutil.Process(server.proc.pid).net_connections("tcp")
                 if c.status == psutil.CONN_LISTEN}
    assert (("127.0.0.1", port)) in {(a.ip, a.port) for a in listening}


def test_metrics_token_opens_the_public_endpoints(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(GROUPBUY_METRICS_TOKEN="metrics-secret-2")
    assert httpx.get(f"{server.base}/metrics").status_code == 401
    auth = {"Authorization": "Bearer metrics-secret-2"}
    assert "groupbuy_" in httpx.get(f"{server.base}/metrics", headers=auth).text
    assert httpx.get(f"{server.base}/status", headers=auth).json()["redis"] == "ok"
    # The token, once configured, is asked on the internal listener too.
    assert httpx.get(f"{server.metrics}/metrics").status_code == 401
    assert httpx.get(f"{server.metrics}/metrics", headers=auth).status_code == 200


# -- item 20: readiness follows what serving needs ----------------------------------------------


def test_ready_while_redis_is_down_and_details_only_inside(start_server, tenant, tmp_path) -> None:  # type: ignore[no-untyped-def]
    redis = EmbeddedRedis(tmp_path, port=free_port(), persist=False)
    redis.start()
    try:
        server = start_server(REDIS_URL=redis.url())
        assert httpx.get(f"{server.base}/readyz").json() == {"status": "ok"}
    finally:
        redis.stop()
    ready = httpx.get(f"{server.base}/readyz", timeout=10)
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}  # nothing about Redis
    served = httpx.post(f"{server.base}/graphql", json={"query": STOREFRONT}, headers={"X-Tenant": tenant.slug},
                        timeout=10)
    assert served.status_code == 200 and served.json()["data"]["tenant"]["name"]
    status = httpx.get(f"{server.metrics}/status", timeout=20)
    assert status.json() == {"status": "ok", "database": "ok", "redis": "unreachable"}


def test_not_ready_without_the_database(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(GROUPBUY_APP_DATABASE_URL=f"postgresql://nobody:nothing@127.0.0.1:{free_port()}/none")
    ready = httpx.get(f"{server.base}/readyz", timeout=20)
    assert ready.status_code == 503 and ready.json() == {"status": "unavailable"}
    status = httpx.get(f"{server.metrics}/status", timeout=20).json()
    assert status["database"] == "unreachable" and status["status"] == "unavailable"


# -- item 22: security headers ------------------------------------------------------------------


def _assert_secured(response: httpx.Response, csp: str | None = None) -> None:
    h = response.headers
    assert h["x-content-type-options"] == "nosniff", response.url
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert "camera=(self)" in h["permissions-policy"]
    policy = {d.split(" ", 1)[0]: d for d in (p.strip() for p in h["content-security-policy"].split(";"))}
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert policy["object-src"] == "object-src 'none'"
    if csp == "app":
        # The page's own inline script is allowed by its hash only; never 'unsafe-inline' or a host.
        sources = policy["script-src"].split()[1:]
        assert sources[0] == "'self'" and all(re.fullmatch(r"'sha256-[A-Za-z0-9+/]+=*'", s) for s in sources[1:])
        assert policy["style-src"] == "style-src 'self'"
        assert "unsafe" not in h["content-security-policy"]


@pytest.mark.parametrize("path, status", [
    ("/app/", 200), ("/app/app.js", 200), ("/app/styles.css", 200), ("/app/views/picklist.js", 200),
    ("/app/missing.js", 404), ("/nowhere", 404), ("/healthz", 200), ("/readyz", 200), ("/schema.graphql", 200),
])
def test_security_headers_on_pages_files_and_errors(api_url, path, status) -> None:  # type: ignore[no-untyped-def]
    response = httpx.get(f"{api_url}{path}")
    assert response.status_code == status
    _assert_secured(response, "app")


def test_security_headers_on_api_answers_and_errors(api_url) -> None:  # type: ignore[no-untyped-def]
    for response in (
        httpx.post(f"{api_url}/graphql", json={"query": "{ __typename }"}),
        httpx.post(f"{api_url}/graphql", content=b"{", headers={"Content-Type": "application/json"}),
        httpx.post(f"{api_url}/graphql", content=b"x" * 300_000, headers={"Content-Type": "application/json"}),
        httpx.put(f"{api_url}/graphql"),
    ):
        _assert_secured(response, "app")


def test_graphiql_keeps_working_under_its_own_policy(api_url) -> None:  # type: ignore[no-untyped-def]
    page = httpx.get(f"{api_url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    _assert_secured(page)
    csp = page.headers["content-security-policy"]
    # its inline bootstrap script and the scripts it loads over HTTPS are allowed, only on this page
    assert "script-src 'self' 'unsafe-inline' https:" in csp and "connect-src 'self'" in csp
