"""`groupbuy run` from nothing: embedded servers, migrations, demo data, API, worker and
scheduler; SIGTERM (and SIGHUP, a closed terminal) stops every child and both servers; a second
run reuses the data; killed outright, it still takes the API, worker and scheduler with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from service.embedded import free_port
from tests.processes import wait_gone


def _start(data_dir: Path, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL") and not k.startswith("GROUPBUY_")}
    env.update(GROUPBUY_DATA_DIR=str(data_dir), GROUPBUY_ARGON2_TIME_COST="1", GROUPBUY_ARGON2_MEMORY_KIB="8192")
    return subprocess.Popen([sys.executable, "-m", "service.cli", "run", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise AssertionError("groupbuy run did not become ready")


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> str:
    descendants = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(sig)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    _, alive = psutil.wait_procs(descendants, timeout=10)
    assert not alive, f"left running: {[p.info if hasattr(p, 'info') else p for p in alive]}"
    return output


@pytest.mark.slow
def test_run_serves_everything_and_stops_cleanly(tmp_path: Path):  # type: ignore[no-untyped-def]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port)
    try:
        _wait_ready(url, proc)
        body = httpx.post(f"{url}/graphql", headers={"X-Tenant": "demo"},
                          json={"query": "{ tenant { slug } }"}).json()
        assert body["data"]["tenant"]["slug"] == "demo"
        token = (tmp_path / "platform-token").read_text().strip()
        assert token.startswith("gbp_")
        assert httpx.get(f"{url}/app/").status_code == 200
        children = {" ".join(p.cmdline()) for p in psutil.Process(proc.pid).children(recursive=True)}
        for part in ("serve", "dramatiq", "scheduler", "redis-server"):
            assert any(part in c for c in children), f"{part} not running: {children}"
    finally:
        if proc.poll() is None:
            output = _stop(proc)
    assert "platform admin token: gbp_" in output and "admin@demo.example" in output
    assert not (tmp_path / "pg" / "postmaster.pid").exists(), f"PostgreSQL still running:\n{output[-3000:]}"

    # Second run: same data, no second demo tenant, same platform token.
    proc = _start(tmp_path, port)
    try:
        _wait_ready(url, proc)
        assert (tmp_path / "platform-token").read_text().strip() == token
        body = httpx.post(f"{url}/graphql", headers={"X-Tenant": "demo"},
                          json={"query": "{ tenant { slug } }"}).json()
        assert body["data"]["tenant"]["slug"] == "demo"
    finally:
        output = _stop(proc, signal.SIGHUP)
    assert "kept from the previous run" in output



@pytest.mark.slow
def test_a_killed_run_takes_its_children_with_it(tmp_path: Path):  # type: ignore[no-untyped-def]
    """SIGKILL leaves `groupbuy run` no chance to stop anything: the API, the worker and the
    scheduler must stop by themselves rather than keep the port and the queue with nobody to stop
    them. (The embedded servers stay, as after any run, for the next one to reuse.)"""
    from service.embedded import EmbeddedPostgres

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = _start(tmp_path, port)
    servers: list[psutil.Process] = []
    try:
        _wait_ready(url, proc)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        servers = [p for p in descendants if "redis-server" in " ".join(p.cmdline())]
        app = [p for p in descendants if p not in servers]
        commands = " | ".join(" ".join(p.cmdline()) for p in app)
        for part in ("serve", "dramatiq", "scheduler"):
            assert part in commands, commands
        proc.kill()
        proc.wait()
        wait_gone(app, "outlived groupbuy run")
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{url}/healthz", timeout=2)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for p in servers:
            p.kill()
        EmbeddedPostgres(tmp_path).stop()
