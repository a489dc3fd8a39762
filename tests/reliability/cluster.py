"""The whole system as separate processes on private, real PostgreSQL and Redis servers:
N API processes (`groupbuy serve`), dramatiq workers and the scheduler, each a process group of
its own so a fault can SIGKILL it whole. Everything started here is stopped in `stop()`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]

# Fast retries and take-overs, so a fault heals within the test's time.
FAST_ENV = {
    "GROUPBUY_ENV": "test",
    "GROUPBUY_INTROSPECTION": "true",
    "GROUPBUY_GRAPHIQL": "false",
    "GROUPBUY_ARGON2_TIME_COST": "1",
    "GROUPBUY_ARGON2_MEMORY_KIB": "8192",
    "GROUPBUY_LOGIN_ATTEMPTS_PER_ADDRESS": "100000",
    "GROUPBUY_CLOSE_RETRY_SECONDS": "3",
    "GROUPBUY_DELIVERY_RETRY_SCHEDULE": "0.5,1,2,3,5,5,5,5,5,5",
    "GROUPBUY_DELIVERY_REQUEUE_SECONDS": "3",
    "GROUPBUY_DELIVERY_STUCK_SECONDS": "10",
    "GROUPBUY_DELIVERY_TIMEOUT_SECONDS": "3",
    "GROUPBUY_LOG_LEVEL": "INFO",
    "GROUPBUY_DB_POOL_SIZE": "5",
}
# Variables of the test session's own servers that must not leak into the cluster's processes.
_DROP = (
    "GROUPBUY_APP_DATABASE_URL",
    "GROUPBUY_APP_DB_PASSWORD",
    "GROUPBUY_PLATFORM_TOKEN",
    "GROUPBUY_JWT_SECRET",
    "GROUPBUY_WEBHOOK_KEY",
    "GROUPBUY_CLOSE_PAUSE_SECONDS",
)


def free_port() -> int:
    from service.embedded import free_port as fp

    return fp()


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen | None = None
    port: int | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        out = open(self.log, "ab")  # noqa: SIM115 - the child keeps it
        out.write(f"\n==== start #{self.starts} at {time.time():.3f}\n".encode())
        out.flush()
        self.popen = subprocess.Popen(
            self.args,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=ROOT,
        )
        out.close()

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (dramatiq's main process and its worker)."""
        if self.popen is None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.popen.wait(10)
        except subprocess.TimeoutExpired:
            pass

    def terminate(self, wait: float = 10) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            os.killpg(self.popen.pid, signal.SIGTERM)
            self.popen.wait(wait)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    root: Path
    api_count: int = 3
    pg: object | None = None
    redis: object | None = None
    env: dict[str, str] = field(default_factory=dict)
    owner_url: str = ""
    apis: list[Proc] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)
    scheduler: Proc | None = None
    platform_token: str = ""

    # -- servers ---------------------------------------------------------------------------------
    def start_servers(self) -> None:
        from service.embedded import EmbeddedPostgres, EmbeddedRedis

        self.pg = EmbeddedPostgres(self.root, port=free_port(), fast=True)
        self.owner_url = self.pg.start()
        self.redis = EmbeddedRedis(self.root, port=free_port(), persist=False)
        redis_url = self.redis.start()
        env = {k: v for k, v in os.environ.items() if k not in _DROP}
        self.platform_token = "gbp_" + secrets.token_urlsafe(24)
        env.update(FAST_ENV)
        env.update(
            DATABASE_URL=self.owner_url,
            REDIS_URL=redis_url,
            GROUPBUY_DATA_DIR=str(self.root),
            GROUPBUY_PLATFORM_TOKEN=self.platform_token,
            PYTHONUNBUFFERED="1",
        )
        self.env = env
        (self.root / "logs").mkdir(exist_ok=True)
        subprocess.run(
            [sys.executable, "-m", "service.cli", "migrate"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
            timeout=180,
        )

    def restart_redis(self, down_seconds: float = 1.5) -> None:
        """Stop the embedded Redis (queued messages are lost: persist=False) and start it again on
        the same port."""
        self.redis.stop()
        time.sleep(down_seconds)
        self.redis.start()

    def owner(self) -> psycopg.Connection:
        return psycopg.connect(self.owner_url, autocommit=True)

    # -- processes --------------------------------------------------------------------------------
    def _proc(self, name: str, args: list[str], extra: dict[str, str] | None = None) -> Proc:
        return Proc(name, args, {**self.env, **(extra or {})}, self.root / "logs" / f"{name}.log")

    def api_proc(self, i: int) -> Proc:
        port = free_port()
        p = self._proc(f"api{i}", [sys.executable, "-m", "service.cli", "serve", "--port", str(port)])
        p.port = port
        return p

    def worker_proc(
        self, name: str, queues: list[str] | None = None, extra: dict[str, str] | None = None
    ) -> Proc:
        args = [
            sys.executable,
            "-m",
            "dramatiq",
            "service.tasks.worker",
            "--processes",
            "1",
            "--threads",
            "2",
        ]
        if queues:
            args += ["--queues", *queues]
        return self._proc(name, args, extra)

    def start_processes(
        self, worker_specs: list[tuple[str, list[str] | None, dict[str, str] | None]]
    ) -> None:
        self.apis = [self.api_proc(i) for i in range(self.api_count)]
        for p in self.apis:
            p.start()
        self.workers = [self.worker_proc(n, q, e) for n, q, e in worker_specs]
        for w in self.workers:
            w.start()
        self.scheduler = self._proc("scheduler", [sys.executable, "-m", "service.cli", "scheduler"])
        self.scheduler.start()
        for p in self.apis:
            self.wait_api(p)

    def wait_api(self, p: Proc, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not p.alive():
                raise RuntimeError(f"{p.name} exited:\n{p.log_text()[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{p.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{p.name} did not start:\n{p.log_text()[-3000:]}")

    def restart_api(self, i: int) -> None:
        """A new process on the same port, as a supervisor would start."""
        p = self.apis[i]
        p.start()
        self.wait_api(p)

    @property
    def api_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p.port}" for p in self.apis]

    def terminate_app_backends(self) -> int:
        """pg_terminate_backend on every backend of the app role (as the owner): requests, worker
        jobs and pooled connections in the middle of whatever they were doing."""
        with self.owner() as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE usename = 'groupbuy_app' AND pid <> pg_backend_pid()"
            ).fetchall()
        return sum(1 for (ok,) in rows if ok)

    def stop(self) -> None:
        procs = [*self.apis, *self.workers, *([self.scheduler] if self.scheduler else [])]
        for p in procs:
            try:
                if p.popen is not None and p.popen.poll() is None:
                    os.killpg(p.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 15
        for p in procs:
            if p.popen is None:
                continue
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
            # dramatiq's worker child may outlive its parent: the group goes whole.
            try:
                os.killpg(p.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.redis is not None:
            self.redis.stop()
        if self.pg is not None:
            self.pg.stop()

    def logs(self, tail: int = 2500) -> str:
        return "\n".join(
            f"== {p.name}\n{p.read_text(errors='replace')[-tail:]}"
            for p in sorted((self.root / "logs").glob("*.log"))
        )


def make_cluster_root() -> Path:
    return Path(tempfile.mkdtemp(prefix="groupbuy-reliability-"))


def remove_root(root: Path) -> None:
    shutil.rmtree(root, ignore_errors=True)
