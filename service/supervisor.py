"""`groupbuy run`: embedded servers when none are configured, then API, worker and scheduler
as supervised children. Ctrl-C or SIGTERM stops every child and both embedded servers."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
import warnings
from typing import Any

from service.cli import SUPERVISOR_PID, _seed
from service.config import get_settings
from service.migrate import migrate

log = logging.getLogger("groupbuy.run")

CHILDREN = {
    "api": ["serve"],
    "worker": ["worker"],
    "scheduler": ["scheduler"],
}
MAX_RESTARTS = 5


def _banner(port: int, demo: Any) -> str:
    s = get_settings()
    base = f"http://{s.host}:{port}"
    lines = [
        "",
        "groupbuy is running",
        f"  GraphQL     {base}/graphql" + ("   (GraphiQL: open it in a browser)" if s.graphiql_enabled else ""),
        f"  web client  {base}/app/",
        f"  health      {base}/healthz   {base}/readyz",
        f"  metrics     http://{s.metrics_host}:{s.metrics_port}/metrics   (and /status; this machine only)"
        if s.metrics_port else "  metrics     off (set GROUPBUY_METRICS_PORT)",
        f"  platform admin token: {s.platform_token_value}",
    ]
    if demo is not None:
        lines.append(f"  demo tenant '{demo.tenant_slug}' (send X-Tenant: {demo.tenant_slug}):")
        for role, login, password in demo.logins:
            lines.append(f"    {role:<13} {login} / {password}")
        if demo.api_key:
            lines.append(f"    API key (shown once): {demo.api_key}")
    else:
        lines.append("  demo data: kept from the previous run (logins as printed then; see README)")
    lines.append("  Ctrl-C stops everything.")
    return "\n".join(lines)


def run_all(port: int | None) -> int:
    warnings.filterwarnings("ignore", module="platformdirs")
    s = get_settings()
    port = port or s.port
    stopping = False

    def request_stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True

    # SIGHUP: the terminal `make run` was started from closed. Stopped as on Ctrl-C, servers too.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, request_stop)

    pg = redis = None
    env = dict(os.environ)
    children: dict[str, subprocess.Popen] = {}
    try:
        if not s.database_url:
            from service.embedded import EmbeddedPostgres

            pg = EmbeddedPostgres(s.data_dir)
            env["DATABASE_URL"] = pg.start()
            log.info("embedded PostgreSQL on 127.0.0.1:%s (data in %s)", pg.port, pg.pgdata)
        if not s.redis_url:
            from service.embedded import EmbeddedRedis

            redis = EmbeddedRedis(s.data_dir)
            env["REDIS_URL"] = redis.start()
            log.info("embedded Redis on 127.0.0.1:%s", redis.port)
        os.environ.update(env)
        get_settings.cache_clear()
        s = get_settings()
        # Generated once, before any child could race to create them.
        s.platform_token_value, s.jwt_secret_value, s.app_db_password_value  # noqa: B018


        migrate()

        demo = asyncio.run(_seed())
        env["PORT"] = str(port)
        if not s.metrics_port:  # /metrics and /status on an internal listener of their own
            from service.embedded import free_port

            env["GROUPBUY_METRICS_PORT"] = str(free_port())
            os.environ["GROUPBUY_METRICS_PORT"] = env["GROUPBUY_METRICS_PORT"]
            get_settings.cache_clear()
        for name, args in CHILDREN.items():
            children[name] = _spawn(args, env)
        print(_banner(port, demo), flush=True)

        restarts = dict.fromkeys(children, 0)
        while not stopping:
            time.sleep(0.5)
            for name, proc in list(children.items()):
                if proc.poll() is not None and not stopping:
                    restarts[name] += 1
                    if restarts[name] > MAX_RESTARTS:
                        log.error("%s keeps exiting (code %s); stopping", name, proc.returncode)
                        return 1
                    log.warning("%s exited with %s; restarting", name, proc.returncode)
                    children[name] = _spawn(CHILDREN[name], env)
        return 0
    finally:
        _stop_children(children)
        if redis is not None:
            redis.stop()
        if pg is not None:
            pg.stop()
        log.info("stopped")


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    # Each child stops by itself should this process die without stopping it (SIGKILL).
    return subprocess.Popen([sys.executable, "-m", "service.cli", *args], env={**env, SUPERVISOR_PID: str(os.getpid())},
                            start_new_session=True)


def _stop_children(children: dict[str, subprocess.Popen]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # each child stops its own children
    deadline = time.monotonic() + 15
    for proc in children.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
