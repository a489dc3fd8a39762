"""`groupbuy serve --workers 2`: every worker takes connections, a dead one is replaced, SIGTERM
stops them all, and a killed supervisor takes its workers with it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import psutil
import pytest

from tests.processes import gone, wait_gone


def _workers(proc: subprocess.Popen) -> list[psutil.Process]:
    """The uvicorn workers: the children that listen on a TCP port."""
    found = []
    for child in psutil.Process(proc.pid).children():
        try:
            if any(c.status == psutil.CONN_LISTEN for c in child.net_connections(kind="tcp")):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _wait(predicate, what: str, timeout: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)



def _ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def served(services):  # type: ignore[no-untyped-def]
    from service.embedded import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--workers", "2", "--port", str(port)],
        env={**os.environ, "GROUPBUY_ENV": "production"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(lambda: _ready(base) and len(_workers(proc)) == 2, "two workers did not start")
        yield proc, base, port
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_connections_spread_over_both_workers(served) -> None:  # type: ignore[no-untyped-def]
    proc, base, port = served
    # 16 connections made at once, as a proxy's pool or a load test opens them: they wait in the
    # kernel together, so a worker that accepts all that are waiting would take every one.
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]
    try:
        for sock in sockets:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        for sock in sockets:
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        per_worker = {
            w.pid: sum(
                1 for c in w.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
            )
            for w in _workers(proc)
        }
    finally:
        for sock in sockets:
            sock.close()
    assert sum(per_worker.values()) == 16
    # A socket per worker: the kernel spreads connections by their address hash (all 16 on one
    # worker: a chance of 2 in 65,536).
    assert all(n > 0 for n in per_worker.values()), per_worker


def test_a_dead_worker_is_replaced_and_sigterm_stops_all(served) -> None:  # type: ignore[no-untyped-def]
    proc, base, _ = served
    first = _workers(proc)
    first[0].send_signal(signal.SIGKILL)
    _wait(
        lambda: len(_workers(proc)) == 2 and first[0].pid not in {w.pid for w in _workers(proc)},
        "the dead worker was not replaced",
    )
    _wait(lambda: _ready(base), "not serving after the restart")
    workers = _workers(proc)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    for worker in workers:
        assert gone(worker)
    assert not _ready(base)


def test_workers_stop_when_the_supervisor_is_killed(served) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL (the OOM killer, a crash) gives the supervisor no chance to stop its workers: they
    must notice by themselves, not go on serving the port with nobody to restart or stop them."""
    proc, base, _ = served
    workers = _workers(proc)
    assert len(workers) == 2
    proc.kill()
    proc.wait()
    wait_gone(workers, "the workers outlived their supervisor")
    assert not _ready(base)
