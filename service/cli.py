"""The `groupbuy` command."""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import click

from service.config import SettingsError, get_settings


def _setup_logging() -> None:
    """JSON lines unless in development (GROUPBUY_LOG_JSON overrides), at GROUPBUY_LOG_LEVEL."""
    from service.logs import configure_from_settings

    configure_from_settings()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """groupbuy: headless multi-tenant community group-buying.

    \b
    run        everything on one machine (embedded PostgreSQL and Redis unless configured)
    serve      the API (uvicorn)
    worker     a dramatiq worker
    scheduler  opens/closes batches on time and relays the outbox (one leader at a time)
    migrate    apply database migrations and grant the app role
    tenant     tenant administration (tenant create)
    demo       seed demo data into an empty database
    schema     print the GraphQL SDL
    """
    _setup_logging()
    from service.observability import setup_process

    setup_process(click.get_current_context().invoked_subcommand)


@main.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from service.schema import sdl

    click.echo(sdl(), nl=False)


@main.command()
def migrate() -> None:
    """Apply the migrations as the owner and (re)grant the app role."""
    from service.migrate import migrate as run_migrations

    run_migrations()
    click.echo("migrations applied")


@main.command()
def demo() -> None:
    """Seed the demo tenant when the database is empty."""

    logins = asyncio.run(_seed())
    click.echo("demo data created" if logins else "database not empty: nothing seeded")


async def _seed() -> Any:
    from service.db import dispose_engines
    from service.demo import seed_demo

    try:
        return await seed_demo()
    finally:
        await dispose_engines()


@main.group()
def tenant() -> None:
    """Tenant administration."""


@tenant.command("create")
@click.option("--slug", required=True)
@click.option("--name", required=True)
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True, prompt=True, hide_input=True)
@click.option("--timezone", default="Asia/Shanghai", show_default=True)
@click.option("--currency", default="CNY", show_default=True)
@click.option("--payment-mode", type=click.Choice(["PREPAID", "PAY_AT_PICKUP"]), default="PREPAID",
              show_default=True)
def tenant_create(slug: str, name: str, admin_email: str, admin_password: str, timezone: str,
                  currency: str, payment_mode: str) -> None:
    """Create a tenant with its first admin; prints its API key once."""
    from service.accounts import operations
    from service.accounts.models import PaymentMode
    from service.db import dispose_engines, tenant_transaction
    from service.errors import UserErrors

    async def create() -> str:
        try:
            async with tenant_transaction(None) as session:
                created = await operations.create_tenant(
                    session, slug=slug, name=name, timezone=timezone, currency=currency,
                    payment_mode=PaymentMode(payment_mode), admin_email=admin_email,
                    admin_password=admin_password,
                )
                return created.api_key
        finally:
            await dispose_engines()

    try:
        key = asyncio.run(create())
    except UserErrors as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"tenant '{slug}' created; API key (shown once): {key}")


@main.command()
@click.option("--host", default=None, help="default 127.0.0.1 (GROUPBUY_HOST)")
@click.option("--port", type=int, default=None, help="default 8000 (PORT)")
@click.option("--workers", type=int, default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API and the web client with uvicorn."""
    from service.serving import PROTOCOL, raise_open_files_limit, serve_one, serve_workers

    _follow_supervisor()
    raise_open_files_limit()
    s = get_settings()
    # No limit_concurrency: uvicorn counts open connections against it, so idle ones could make
    # every request a 503. Requests in flight are limited by the app (GROUPBUY_MAX_REQUESTS_IN_FLIGHT),
    # connections still sending their headers by the protocol (service.serving).
    options = dict(
        log_level=s.log_level.lower(), timeout_keep_alive=5, access_log=False, http=PROTOCOL,
        proxy_headers=True, forwarded_allow_ips=s.trusted_proxies,
        log_config=None,  # our root handler (service.logs) formats uvicorn's records too
    )
    if workers > 1:  # a socket per worker: see service.serving
        serve_workers(host or s.host, port or s.port, workers, options)
        return
    serve_one(host or s.host, port or s.port, options)


SUPERVISOR_PID = "GROUPBUY_SUPERVISOR_PID"


def _follow_supervisor() -> None:
    """Started by `groupbuy run`: stop when it is gone, whatever ended it (its own children only:
    the variable is not passed further down)."""
    pid = os.environ.pop(SUPERVISOR_PID, None)
    if pid:
        from service.processes import stop_with_parent

        stop_with_parent(int(pid))


@main.command()
@click.option("--processes", type=int, default=1, show_default=True)
@click.option("--threads", type=int, default=4, show_default=True)
def worker(processes: int, threads: int) -> None:
    """Run a dramatiq worker for every actor."""
    _follow_supervisor()
    os.execvpe(
        sys.executable,
        [sys.executable, "-m", "dramatiq", "--processes", str(processes), "--threads", str(threads),
         "service.tasks.worker"],
        worker_environment(),
    )


# An idle dramatiq consumer polls Redis with a backoff that grows to this many milliseconds
# (dramatiq's default: 1,000): a close or a webhook sent to an idle worker waited up to a second.
WORKER_IDLE_POLL_MS = "100"


def worker_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("dramatiq_worker_timeout", WORKER_IDLE_POLL_MS)
    return env


@main.command()
@click.option("--interval", type=float, default=1.0, show_default=True)
def scheduler(interval: float) -> None:
    """Open and close batches on time, expire unpaid orders, relay the outbox."""
    _follow_supervisor()
    from service.tasks import registry
    from service.tasks.scheduler import run_scheduler

    registry.install()
    asyncio.run(run_scheduler(registry.JOBS, interval))


@main.command()
@click.option("--port", type=int, default=None, help="API port (default 8000, or PORT)")
def run(port: int | None) -> None:
    """Everything on this machine: database, broker, migrations, demo data, API, worker, scheduler."""
    from service.supervisor import run_all

    try:
        get_settings()
    except SettingsError as e:  # before anything starts or prints a token
        raise click.ClickException(str(e)) from None

    sys.exit(run_all(port))


if __name__ == "__main__":
    main()
