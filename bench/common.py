"""What every benchmark shares: private embedded servers, the API as in production, statistics,
the raw HTTP load generator's results, and the results files."""

from __future__ import annotations

import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA = BENCH_DIR / ".data"
RESULTS = BENCH_DIR / "results"
PEER_DIR = BENCH_DIR / ".peer"


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- statistics ---------------------------------------------------------------------------------
def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100 * (len(s) - 1)))))
    return s[k]


def summary(values: list[float]) -> dict[str, float]:
    """Median of several runs, with min and max."""
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "runs": len(values)}


def ratio_summary(ours: list[float], base: list[float]) -> dict[str, float]:
    """Ratios of paired runs (run i of ours over run i of the baseline, taken back to back)."""
    return summary([o / b for o, b in zip(ours, base, strict=True) if b])


def load_average() -> float:
    return os.getloadavg()[0]


def machine() -> dict[str, Any]:
    mem = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = int(line.split()[1]) // 1024
    except OSError:
        pass
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(), "cpu_model": cpu, "memory_mb": mem, "python": platform.python_version(),
        "platform": platform.platform(), "load_average_at_start": round(load_average(), 2),
    }


# -- servers ------------------------------------------------------------------------------------
@dataclass
class Env:
    owner_url: str  # libpq URL, superuser/owner
    redis_url: str
    data_dir: Path
    app_url: str = ""  # libpq URL of the app role
    tenant_id: uuid.UUID | None = None
    tenant_slug: str = ""
    procs: list[subprocess.Popen] = field(default_factory=list)

    def env_vars(self, **extra: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=self.owner_url, REDIS_URL=self.redis_url, GROUPBUY_DATA_DIR=str(self.data_dir),
            GROUPBUY_ENV="production", GROUPBUY_LOG_LEVEL="WARNING", PYTHONPATH=str(ROOT),
        )
        env.update(extra)
        return env

    def owner(self) -> psycopg.Connection:
        return psycopg.connect(self.owner_url, autocommit=True)


@contextmanager
def servers(name: str = "main", *, fresh: bool = True) -> Iterator[Env]:
    """Private embedded PostgreSQL (durable settings, as `make run`) and Redis, migrated, with
    one tenant; everything is stopped on exit."""
    from service.config import get_settings
    from service.embedded import EmbeddedPostgres, EmbeddedRedis

    root = DATA / name
    if fresh and root.exists():
        import shutil

        _stop_leftover(root)
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    pg = EmbeddedPostgres(root)
    redis = EmbeddedRedis(root, persist=False)
    owner = pg.start()
    try:
        redis_url = redis.start()
        os.environ.update(DATABASE_URL=owner, REDIS_URL=redis_url, GROUPBUY_DATA_DIR=str(root),
                          GROUPBUY_ENV="production", GROUPBUY_LOG_LEVEL="WARNING",
                          # the fan-out benchmark's webhook receivers listen on loopback
                          GROUPBUY_WEBHOOK_ALLOWED_NETWORKS="127.0.0.0/8")
        get_settings.cache_clear()
        from service.migrate import migrate

        migrate()
        from service.db import app_url, libpq_url

        env = Env(owner_url=owner, redis_url=redis_url, data_dir=root, app_url=libpq_url(app_url()))
        env.tenant_id, env.tenant_slug = create_tenant(env)
        try:
            yield env
        finally:
            for p in env.procs:
                stop_process(p)
    finally:
        redis.stop()
        pg.stop()


def _stop_leftover(root: Path) -> None:
    pid_file = root / "pg" / "postmaster.pid"
    if pid_file.exists():
        try:
            from service.embedded import EmbeddedPostgres

            EmbeddedPostgres(root).stop()
        except Exception:  # noqa: BLE001
            pass


def create_tenant(env: Env) -> tuple[uuid.UUID, str]:
    import asyncio

    from service.accounts import operations
    from service.accounts.models import PaymentMode
    from service.db import dispose_engines, tenant_transaction

    slug = f"bench-{uuid.uuid4().hex[:8]}"

    async def create() -> uuid.UUID:
        try:
            async with tenant_transaction(None) as session:
                await operations.create_tenant(
                    session, slug=slug, name="Bench", timezone="Asia/Shanghai", currency="CNY",
                    payment_mode=PaymentMode.PREPAID, admin_email=f"admin@{slug}.example",
                    admin_password="bench-admin-password-1",
                )
        finally:
            await dispose_engines()
        with env.owner() as conn:
            return conn.execute("SELECT id FROM tenant WHERE slug = %s", (slug,)).fetchone()[0]

    return asyncio.run(create()), slug


def start_api(env: Env, *, port: int, workers: int = 2, **extra_env: str) -> subprocess.Popen:
    """The API as in production: `groupbuy serve --workers N`."""
    p = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--workers", str(workers), "--port", str(port)],
        env=env.env_vars(**extra_env), cwd=ROOT, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=open(env.data_dir / f"api-{port}.log", "w"),
    )
    env.procs.append(p)
    wait_http(f"http://127.0.0.1:{port}/healthz", p)
    return p


def start_process(env: Env, args: list[str], *, name: str, ready_url: str | None = None,
                  **extra_env: str) -> subprocess.Popen:
    p = subprocess.Popen(args, env=env.env_vars(**extra_env), cwd=ROOT, start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=open(env.data_dir / f"{name}.log", "w"))
    env.procs.append(p)
    if ready_url:
        wait_http(ready_url, p)
    return p


def wait_http(url: str, p: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {p.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status < 500:
                    return
        except Exception:  # noqa: BLE001
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def stop_process(p: subprocess.Popen) -> None:
    if p.poll() is not None:
        return
    try:
        os.killpg(p.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        p.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(10)


def rebind_broker(*actors: Any) -> None:
    """Point these actors at a broker on the current REDIS_URL: `service.tasks.broker` makes its
    broker once per process, and one `make bench` starts a Redis per benchmark."""
    import dramatiq

    from service.tasks.broker import make_broker

    broker = make_broker()
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)


def free_port() -> int:
    from service.embedded import free_port as fp

    return fp()


# -- results ------------------------------------------------------------------------------------
def write_results(results: dict[str, Any], headline: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    full = RESULTS / f"run-{stamp}.json"
    full.write_text(json.dumps(results, indent=2, default=str) + "\n")
    # A run of some benchmarks (--only) updates their figures and keeps the others' from earlier
    # runs; `figures_from` says which run each figure comes from.
    path = RESULTS / "latest.json"
    previous = json.loads(path.read_text()) if path.exists() else {}
    sources = previous.pop("figures_from", {})
    for key in ("generated_at", "full_results"):
        previous.pop(key, None)
    sources.update(dict.fromkeys(headline, full.name))
    latest = {"generated_at": stamp, "full_results": full.name, **previous, **headline, "figures_from": sources}
    path.write_text(json.dumps(latest, indent=2, default=str) + "\n")
    return full
