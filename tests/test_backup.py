"""`groupbuy backup` and `groupbuy restore` with the embedded PostgreSQL: a restore into a fresh
data directory gives back every tenant, order and pending outbox event (real servers, the real
command in a subprocess, as an operator runs it)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from service.embedded import EmbeddedPostgres

ROOT = Path(__file__).resolve().parent.parent


def cli(data_dir: Path, *args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    """The command as run beside `make run`: no DATABASE_URL (unless given), only the data directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "GROUPBUY_APP_DATABASE_URL")}
    if database_url:
        env["DATABASE_URL"] = database_url
    env.update(GROUPBUY_DATA_DIR=str(data_dir), GROUPBUY_ENV="test", GROUPBUY_ARGON2_TIME_COST="1",
               GROUPBUY_ARGON2_MEMORY_KIB="8192", GROUPBUY_LOG_JSON="false")
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def snapshot(url: str) -> dict[str, object]:
    """Every table's row count, and the full rows of tenants, orders and pending outbox events."""
    with psycopg.connect(url) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        found: dict[str, object] = {
            t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables  # type: ignore[index]
        }
        for name, query in (
            ("tenant rows", "SELECT t::text FROM tenant t ORDER BY 1"),
            ("order rows", "SELECT o::text FROM customer_order o ORDER BY 1"),
            ("pending events", "SELECT e::text FROM outbox_event e WHERE relayed_at IS NULL ORDER BY 1"),
        ):
            found[name] = [r[0] for r in conn.execute(query)]
    return found


def test_restore_into_a_fresh_data_directory_gives_everything_back(tmp_path: Path) -> None:
    first, second, dump = tmp_path / "first", tmp_path / "second", tmp_path / "groupbuy.dump"
    pg = EmbeddedPostgres(first, fast=True)
    pg.start()  # as `make run` leaves it running
    try:
        for args in (("migrate",), ("demo",)):
            done = cli(first, *args)
            assert done.returncode == 0, done.stderr
        # The storefront's development payment stand-in gets the demo tenant's API key.
        assert (first / "shop-dev-api-keys" / "demo").read_text().startswith("gbk_")
        done = cli(first, "tenant", "create", "--slug", "acme", "--name", "Acme", "--admin-email",
                   "admin@acme.example", "--admin-password", "acme-admin-pw-1")
        assert done.returncode == 0, done.stderr
        assert "tenant 'acme' created; API key (shown once): " in done.stdout
        with psycopg.connect(pg.url()) as conn:  # an event the relay has not sent yet
            conn.execute(
                "INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload) "
                "SELECT tenant_id, gen_random_uuid(), 'ORDER_PAID', 'order', id, '{\"note\": \"pending\"}' "
                "FROM customer_order ORDER BY id LIMIT 1")
        before = snapshot(pg.url())
        assert len(before["tenant rows"]) == 2  # type: ignore[arg-type]
        assert before["order rows"] and before["pending events"]

        done = cli(first, "backup", str(dump))
        assert done.returncode == 0, done.stderr
        assert dump.stat().st_size > 0
    finally:
        pg.stop()

    # No server runs on the fresh directory: restore starts one, and stops it when done.
    done = cli(second, "restore", str(dump))
    assert done.returncode == 0, done.stderr
    restored = EmbeddedPostgres(second, fast=True)
    assert restored.running_port() is None
    restored.start()
    try:
        assert snapshot(restored.url()) == before
        # The app role signs in with this directory's own password and reads under RLS.
        app_password = (second / "db-app-password").read_text().strip()
        app_url = f"postgresql://groupbuy_app:{app_password}@127.0.0.1:{restored.port}/groupbuy"
        with psycopg.connect(app_url) as conn:
            assert conn.execute("SELECT count(*) FROM tenant").fetchone() is not None

        again = cli(second, "restore", str(dump))  # beside the running server, into a full database
        assert again.returncode == 1
        assert "the database is not empty" in again.stderr
        assert "Traceback" not in again.stderr
    finally:
        restored.stop()
