"""A `groupbuy` command that cannot reach its database says so in one line, without a traceback
(finding the embedded server beside `make run` is proved in tests/test_backup.py)."""

from __future__ import annotations

import os
from pathlib import Path

from service.embedded import free_port
from tests.test_backup import cli


def test_unreachable_database_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    closed = f"postgresql://postgres:pw@127.0.0.1:{free_port()}/groupbuy"
    for args in (("migrate",), ("backup", str(tmp_path / "x.dump")),
                 ("tenant", "create", "--slug", "x", "--name", "X", "--admin-email", "a@x.example",
                  "--admin-password", "pw-pw-pw-pw")):
        done = cli(tmp_path, *args, database_url=closed)
        assert done.returncode == 1, done.stderr
        assert "Error: cannot reach the database" in done.stderr
        assert "Traceback" not in done.stderr


def test_serve_beside_make_run_joins_its_embedded_servers(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    import httpx

    from service.embedded import EmbeddedPostgres, EmbeddedRedis
    from tests.test_backup import ROOT

    done = cli(tmp_path, "worker")  # nothing runs there yet: a message, not a traceback
    assert done.returncode == 1 and "Error: no database: set DATABASE_URL, or start `make run`" in done.stderr
    assert "Traceback" not in done.stderr

    pg, redis = EmbeddedPostgres(tmp_path, fast=True), EmbeddedRedis(tmp_path, persist=False)
    pg.start()
    redis.start()  # both as `make run` leaves them
    port = free_port()
    try:
        assert cli(tmp_path, "migrate").returncode == 0
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(GROUPBUY_DATA_DIR=str(tmp_path), GROUPBUY_ENV="test")
        serve = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=ROOT,
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 60
            ready = None
            while time.monotonic() < deadline and serve.poll() is None:
                try:
                    ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            assert ready is not None and ready.status_code == 200, serve.stderr.read() if serve.poll() else ""
        finally:
            serve.terminate()
            serve.wait(30)
    finally:
        redis.stop()
        pg.stop()
