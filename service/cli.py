"""The `groupbuy` command."""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click
import psycopg
import sqlalchemy.exc
from sqlalchemy import make_url

from service.config import SettingsError, get_settings
from service.embedded import EmbeddedPostgres, EmbeddedRedis, pg_tool
from service.shop_web import save_dev_key


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
    backup     dump the database to a file (pg_dump, custom format)
    restore    load such a file into an empty database (pg_restore)
    schema     print the GraphQL SDL
    audit      the audit log (audit verify --tenant <slug>)
    """
    _setup_logging()
    from service.observability import setup_process

    setup_process(click.get_current_context().invoked_subcommand)


F = TypeVar("F", bound=Callable[..., Any])
_embedded_in_use = False  # set by `database` while a command uses the embedded server


@contextmanager
def database() -> Iterator[None]:
    """DATABASE_URL when it is set; otherwise the embedded PostgreSQL of the data directory: the
    one `groupbuy run` is running, or one started for this command and stopped after it."""
    s = get_settings()
    if s.database_url:
        yield
        return
    warnings.filterwarnings("ignore", module="platformdirs")  # as `run` does: noise from the wheel's import
    pg = EmbeddedPostgres(s.data_dir)
    started = False
    if not pg.attach():
        if (pg.pgdata / "PG_VERSION").exists() and not pg.password_file.exists():
            raise click.ClickException(f"{pg.password_file} is missing: cannot sign in to the embedded PostgreSQL")
        click.echo(f"starting the embedded PostgreSQL in {pg.pgdata}", err=True)
        try:
            pg.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            raise click.ClickException(f"the embedded PostgreSQL did not start: {e}") from None
        started = True
    global _embedded_in_use
    os.environ["DATABASE_URL"] = pg.url()
    get_settings.cache_clear()
    _embedded_in_use = True
    try:
        yield
    finally:
        _embedded_in_use = False
        os.environ.pop("DATABASE_URL", None)
        get_settings.cache_clear()
        if started:
            pg.stop()


def attach_running_servers() -> None:
    """For the long-running commands (serve, worker, scheduler) started by hand beside `make run`:
    without DATABASE_URL / REDIS_URL they join its embedded servers. They never start them: a server
    nobody supervises would outlive them; `groupbuy run` is the command that does."""
    warnings.filterwarnings("ignore", module="platformdirs")
    s = get_settings()
    found: dict[str, str] = {}
    if not s.database_url:
        pg = EmbeddedPostgres(s.data_dir)
        if not pg.attach() or not pg.password_file.exists():
            raise click.ClickException(
                f"no database: set DATABASE_URL, or start `make run` (no embedded PostgreSQL runs in {pg.pgdata})")
        found["DATABASE_URL"] = pg.url()
    if not s.redis_url:
        redis = EmbeddedRedis(s.data_dir)
        if not redis.attach():
            raise click.ClickException(
                f"no Redis: set REDIS_URL, or start `make run` (no embedded Redis runs in {redis.dir})")
        found["REDIS_URL"] = redis.url()
    if found:
        os.environ.update(found)  # a worker's processes inherit them too
        get_settings.cache_clear()


def _database_error(e: BaseException) -> str | None:
    """A one-line explanation of a database failure, None for anything else."""
    cause = e.orig if isinstance(e, sqlalchemy.exc.DBAPIError) else e
    if isinstance(cause, psycopg.errors.UndefinedTable):
        return "the database has no tables yet: run `groupbuy migrate` first"
    if isinstance(cause, psycopg.OperationalError):
        first = str(cause).strip().splitlines()[0] if str(cause).strip() else type(cause).__name__
        return f"cannot reach the database ({first}); check DATABASE_URL, or start `make run`"
    return None


def needs_database(fn: F) -> F:
    """For a command that uses the database: finds it (see `database`) and turns a database failure
    into a one-line message instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with database():
                return fn(*args, **kwargs)
        except SettingsError as e:
            raise click.ClickException(str(e)) from None
        except Exception as e:
            explained = _database_error(e)
            if explained is None:
                raise
            raise click.ClickException(explained) from None

    return wrapper  # type: ignore[return-value]  # functools.wraps keeps the signature


@main.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from service.schema import sdl

    click.echo(sdl(), nl=False)


@main.command()
@needs_database
def migrate() -> None:
    """Apply the migrations as the owner and (re)grant the app role."""
    from service.migrate import migrate as run_migrations

    run_migrations()
    click.echo("migrations applied")


@main.command()
@needs_database
def demo() -> None:
    """Seed the demo tenant when the database is empty."""

    logins = asyncio.run(_seed())
    click.echo("demo data created" if logins else "database not empty: nothing seeded")


async def _seed() -> Any:
    from service.db import dispose_engines
    from service.demo import seed_demo

    try:
        logins = await seed_demo()
    finally:
        await dispose_engines()
    if logins is not None and logins.api_key and get_settings().is_dev:
        save_dev_key(logins.tenant_slug, logins.api_key)  # the storefront's dev payment stand-in
    return logins


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
@click.option("--default-language", type=click.Choice(["zh-CN", "en"]), default="zh-CN", show_default=True,
              help="The language of messages sent to recipients who chose none.")
@needs_database
def tenant_create(slug: str, name: str, admin_email: str, admin_password: str, timezone: str,
                  currency: str, payment_mode: str, default_language: str) -> None:
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
                    admin_password=admin_password, default_language=default_language,
                )
                return created.api_key
        finally:
            await dispose_engines()

    try:
        key = asyncio.run(create())
    except UserErrors as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"tenant '{slug}' created; API key (shown once): {key}")


def _pg_client(tool: str) -> tuple[list[str], dict[str, str]]:
    """The tool and its environment for the database in use: the embedded server's own client (the
    same version as the server), else the one on PATH. The password goes in the environment, never
    on the command line (where `ps` shows it)."""
    from service.db import owner_url

    url = make_url(owner_url())
    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False)):
        pass  # unreachable: the same one-line message as every other command
    if not _embedded_in_use:
        path = shutil.which(tool)  # an external server: its tools come with its client packages
    else:
        path = pg_tool(tool)
    if not path or not Path(path).exists():
        raise click.ClickException(f"{tool} not found: install the PostgreSQL client tools matching the server")
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    dsn = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return [path, f"--dbname={dsn}"], env


def _run_tool(args: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(args, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise click.ClickException(f"{Path(args[0]).name} failed:\n{done.stderr.strip()}")


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@needs_database
def backup(file: Path) -> None:
    """Dump the whole database to FILE (pg_dump's custom format): every tenant, order and pending
    outbox event. The secrets in the data directory (jwt-secret, webhook-key...) are not in it."""
    tool, env = _pg_client("pg_dump")
    _run_tool([*tool, "--format=custom", "--no-owner", f"--file={file}"], env)
    click.echo(f"backup written to {file} ({file.stat().st_size} bytes)")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@needs_database
def restore(file: Path) -> None:
    """Load a `groupbuy backup` FILE into an empty database (a fresh data directory, or a new external
    database), then grant the app role as `migrate` does."""
    from service.db import owner_url
    from service.migrate import migrate as run_migrations

    dsn = make_url(owner_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        if tables and tables[0]:
            raise click.ClickException(
                "the database is not empty: restore into a fresh data directory (GROUPBUY_DATA_DIR) "
                "or a new database")
    tool, env = _pg_client("pg_restore")
    _run_tool([*tool, "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction", str(file)], env)
    run_migrations()  # the app role and its grants, for this server's role password
    click.echo(f"restored {file}")


@main.command()
@click.option("--host", default=None, help="default 127.0.0.1 (GROUPBUY_HOST)")
@click.option("--port", type=int, default=None, help="default 8000 (PORT)")
@click.option("--workers", type=int, default=1, show_default=True)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Serve the API and the web client with uvicorn."""
    from service.serving import PROTOCOL, raise_open_files_limit, serve_one, serve_workers

    _follow_supervisor()
    attach_running_servers()
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
    attach_running_servers()
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
    attach_running_servers()
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



@main.group()
def audit() -> None:
    """The audit log (audit verify)."""


@audit.command("verify")
@click.option("--tenant", "slug", required=True, help="The tenant's slug.")
def audit_verify(slug: str) -> None:
    """Check a tenant's audit chain end to end; exit 1 naming the first bad entry."""
    from service.audit.verify import UnknownTenant, verify_tenant

    async def check() -> Any:
        from service.db import dispose_engines

        try:
            return await verify_tenant(slug)
        finally:
            await dispose_engines()

    try:
        count, broken = asyncio.run(check())
    except UnknownTenant:
        click.echo(f"no tenant {slug!r}", err=True)
        sys.exit(2)
    if broken is None:
        click.echo(f"audit chain of {slug}: {count} entries, intact")
        return
    which = f"entry {broken.seq}" + (f" (id {broken.id})" if broken.id else "")
    click.echo(f"audit chain of {slug} is BROKEN at {which}: {broken.reason}", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
