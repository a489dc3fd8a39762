"""`groupbuy run` from nothing: embedded servers, migrations, demo data, API, worker and
scheduler; SIGTERM stops every child and both servers; a second run reuses the data."""

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


def _stop(proc: subprocess.Popen) -> str:
    descendants = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, output
    gone, alive = psutil.wait_procs(descendants, timeout=10)
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
        output = _stop(proc)
    assert "kept from the previous run" in output
