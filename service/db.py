"""Engines and the tenant-scoped transaction.

The service connects as the app role (owns no table, no BYPASSRLS); migrations and
platform maintenance connect as the owner. The tenant is set once per transaction with
`set_config('app.tenant_id', ..., true)` so it can never leak through a pooled connection.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from uuid import UUID

import psycopg
from psycopg import generators, pq
from psycopg.abc import Transformer as RowLoader
from psycopg.adapt import Transformer
from psycopg.types.json import Jsonb
from sqlalchemy import event, text
from sqlalchemy.engine import Result, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import ORMExecuteState, with_loader_criteria
from sqlmodel import SQLModel

from service.columns import SCOPE_TENANT
from service.config import get_settings

_engines: dict[str, AsyncEngine] = {}

SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant_id, true)")


def sqlalchemy_url(url: str) -> str:
    """Any postgres URL as a SQLAlchemy psycopg 3 URL."""
    u = make_url(url)
    return u.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def owner_url() -> str:
    url = get_settings().database_url
    if not url:
        raise RuntimeError("DATABASE_URL is not set (groupbuy run starts an embedded PostgreSQL)")
    return sqlalchemy_url(url)


def app_url() -> str:
    s = get_settings()
    if s.app_database_url:
        return sqlalchemy_url(s.app_database_url)
    u = make_url(owner_url())
    return u.set(username=s.app_db_role, password=s.app_db_password_value).render_as_string(
        hide_password=False
    )


def app_engine() -> AsyncEngine:
    if "app" not in _engines:
        s = get_settings()
        _engines["app"] = create_async_engine(
            app_url(),
            pool_size=s.db_pool_size,
            max_overflow=s.db_pool_size,
            pool_pre_ping=True,
            pool_recycle=1800,
        )
    return _engines["app"]


def owner_engine() -> AsyncEngine:
    if "owner" not in _engines:
        _engines["owner"] = create_async_engine(owner_url(), pool_size=2, pool_pre_ping=True)
    return _engines["owner"]


async def dispose_engines() -> None:
    for engine in list(_engines.values()):
        await engine.dispose()
    _engines.clear()
    pool = _driver_pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()


T = TypeVar("T")
_RECYCLE_SECONDS = 1800.0


class _DriverPool:
    """psycopg connections as the app role, in autocommit, kept per event loop."""

    def __init__(self, size: int) -> None:
        self.slots = asyncio.Semaphore(size)
        self.idle: list[tuple[psycopg.AsyncConnection[Any], float]] = []

    async def close(self) -> None:
        idle, self.idle = self.idle, []
        for conn, _ in idle:
            await conn.close()


_driver_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _DriverPool] = weakref.WeakKeyDictionary()


async def run_alone(statement: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
    """Runs `statement(conn)` on a pooled driver connection of the app role in autocommit: each
    statement is its own transaction, one round trip, without SQLAlchemy's layers or a ping per
    checkout. So `statement` must be safe to run twice: a pooled connection found dead (the server
    restarted while it idled) is replaced and the statement run once more on a new one."""
    loop = asyncio.get_running_loop()
    pool = _driver_pools.get(loop)
    if pool is None:
        pool = _driver_pools[loop] = _DriverPool(get_settings().db_pool_size)
    async with pool.slots:
        while True:
            conn, born = pool.idle.pop() if pool.idle else (None, 0.0)
            pooled = conn is not None
            if conn is None:
                conn = await psycopg.AsyncConnection.connect(libpq_url(app_url()), autocommit=True)
                born = time.monotonic()
            try:
                result = await statement(conn)
            except BaseException:
                if conn.broken or conn.closed:
                    await conn.close()
                    if pooled:  # the others idled as long: replace them all, run on a new one
                        await pool.close()
                        continue
                elif conn.pgconn.transaction_status == psycopg.pq.TransactionStatus.IDLE:
                    pool.idle.append((conn, born))
                else:  # interrupted mid-statement
                    await conn.close()
                raise
            if time.monotonic() - born < _RECYCLE_SECONDS:
                pool.idle.append((conn, born))
            else:
                await conn.close()
            return result


class _Prepared:
    """A statement prepared on one connection: its result's column names and a transformer whose
    loaders fit its columns, both found on its first result (a prepared statement's result type
    cannot change) instead of on every call (~20 names decoded and loaders looked up per order)."""

    __slots__ = ("names", "loader")

    def __init__(self) -> None:
        self.names: list[str] | None = None
        self.loader: RowLoader | None = None


def _statements(conn: psycopg.AsyncConnection[Any]) -> dict[bytes, _Prepared]:
    # On the connection itself: it dies with it (the transformer refers to the connection, so a
    # weak-keyed map would keep every connection alive).
    try:
        return conn._groupbuy_statements  # type: ignore[attr-defined]  # our own attribute, set below
    except AttributeError:
        found: dict[bytes, _Prepared] = {}
        conn._groupbuy_statements = found  # type: ignore[attr-defined]  # psycopg's connection declares no such attribute
        return found


async def execute_prepared(conn: psycopg.AsyncConnection[Any], name: bytes, sql: bytes,
                           params: Sequence[str | None]) -> tuple[list[str], tuple[Any, ...] | None]:
    """One named prepared statement, its parameters as text, on a driver connection in
    autocommit: (column names, first row or None). The hottest statement's path without the
    cursor's per-call work (a cursor, the query's conversion, a dumper per value, the prepared
    statements' bookkeeping): libpq's own calls, waited on like psycopg waits, the row loaded by
    psycopg's loaders. Errors are psycopg's, with their SQLSTATE and diagnostics. A name stands
    for one statement on every connection."""
    names, loader, rows = await _execute(conn, name, sql, params)
    return names, (loader.load_row(0, tuple) if rows else None)


async def execute_prepared_rows(conn: psycopg.AsyncConnection[Any], name: bytes, sql: bytes,
                                params: Sequence[str | None]) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The same, with every row."""
    names, loader, rows = await _execute(conn, name, sql, params)
    return names, (loader.load_rows(0, rows, tuple) if rows else [])


async def _execute(conn: psycopg.AsyncConnection[Any], name: bytes, sql: bytes,
                   params: Sequence[str | None]) -> tuple[list[str], RowLoader, int]:
    pgconn = conn.pgconn
    async with conn.lock:
        statements = _statements(conn)
        prepared = statements.get(name)
        if prepared is None:
            pgconn.send_prepare(name, sql)
            _check((await conn.wait(generators.execute(pgconn)))[-1], conn)
            prepared = statements[name] = _Prepared()
        pgconn.send_query_prepared(name, [None if p is None else p.encode() for p in params])
        result = _check((await conn.wait(generators.execute(pgconn)))[-1], conn)
    names = prepared.names
    if names is None:
        names = prepared.names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
    loader = prepared.loader
    if loader is None:
        loader = prepared.loader = Transformer(conn)
        loader.set_pgresult(result)
    else:
        loader.set_pgresult(result, set_loaders=False)
    return names, loader, result.ntuples


def _check(result: pq.abc.PGresult, conn: psycopg.AsyncConnection[Any]) -> pq.abc.PGresult:
    if result.status not in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        raise psycopg.errors.error_from_result(result, encoding=conn.info.encoding)
    return result


def citus_set_tenant(tenant_id: UUID | None) -> str:
    """On Citus the tenant is set with SET LOCAL, which the coordinator repeats on the workers'
    connections of the transaction (citus.propagate_set_commands = local, deploy/citus.sql), so
    the row-level security of the shards sees it too; set_config() stays on the coordinator.
    A literal: SET takes no parameter; a UUID's text needs no quoting."""
    return f"SET LOCAL app.tenant_id = '{UUID(str(tenant_id)) if tenant_id else ''}'"


def _tenant_entities() -> list[type]:
    found, todo = [], list(SQLModel.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        table = getattr(cls, "__table__", None)
        if table is not None and "tenant_id" in table.columns:
            found.append(cls)
    return found


def _scope_to_tenant(state: ORMExecuteState) -> None:
    """On Citus, every ORM statement of a tenant's session also says `tenant_id = <tenant>`, which
    the policies imply: the coordinator then routes it to the tenant's shards on one worker (a
    query whose tenant comes from the policy alone goes to every shard, and a FOR UPDATE there is
    refused). SQLAlchemy's documented way to add such criteria to every query."""
    tenant_id = state.session.info.get("tenant_id")
    if tenant_id is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return
    state.statement = state.statement.options(*(
        with_loader_criteria(entity, lambda cls: cls.tenant_id == tenant_id, include_aliases=True)
        for entity in _tenant_entities()
    ))


def _supply_scope(state: ORMExecuteState) -> Result[Any] | None:
    """On Citus, every ORM SELECT gets the session's tenant as the parameter `scope_tenant`
    (service.columns.in_scope: the correlated subqueries of Offer.sold and Order.state name it, so
    Citus routes a load of offers or orders to the tenant's shard)."""
    params = state.parameters
    if not state.is_select or not isinstance(params, dict | None) or SCOPE_TENANT in (params or {}):
        return None
    scope = {SCOPE_TENANT: state.session.info.get("tenant_id")}
    if params is None:  # invoke_statement() merges into the statement's parameters: it needs some
        return state.session.execute(state.statement, scope, execution_options=state.local_execution_options,
                                     bind_arguments=state.bind_arguments)
    return state.invoke_statement(params=scope)


def scope_of(session: AsyncSession) -> dict[str, UUID | None]:
    """The `scope_tenant` parameter for a Core statement run on the session's connection."""
    return {SCOPE_TENANT: session.sync_session.info.get("tenant_id")}


async def set_tenant(session: AsyncSession, tenant_id: UUID | None) -> None:
    sync = session.sync_session
    sync.info["tenant_id"] = tenant_id  # the session's tenant, for the hooks below and scope_of()
    if get_settings().citus:
        if not event.contains(sync, "do_orm_execute", _scope_to_tenant):
            event.listen(sync, "do_orm_execute", _scope_to_tenant)
            event.listen(sync, "do_orm_execute", _supply_scope)
        await session.execute(text(citus_set_tenant(tenant_id)))
        return
    await session.execute(SET_TENANT, {"tenant_id": str(tenant_id) if tenant_id else ""})


@asynccontextmanager
async def tenant_transaction(
    tenant_id: UUID | None, *, engine: AsyncEngine | None = None
) -> AsyncIterator[AsyncSession]:
    """One transaction as the app role, scoped to one tenant (or to none)."""
    async with AsyncSession(engine or app_engine(), expire_on_commit=False) as session:
        async with session.begin():
            await set_tenant(session, tenant_id)
            yield session


_CITUS_VALUES_ROWS = 500


async def insert_select(session: AsyncSession, head: str, select: str, params: dict[str, Any]) -> int:
    """`head` (INSERT INTO t (columns)) of the rows of `select`; returns how many. On Citus the rows
    are selected first and inserted as VALUES, routed to the tenant's shard: Citus does not push
    down an INSERT ... SELECT calling a volatile function (gen_random_uuid()) and copies its rows
    into the shards instead, which row-level security refuses."""
    if not get_settings().citus:
        result = await session.execute(text(f"{head} {select}"), params)
        return int(getattr(result, "rowcount", 0))
    rows = (await session.execute(text(select), params)).all()
    for start in range(0, len(rows), _CITUS_VALUES_ROWS):
        values: dict[str, Any] = {}
        tuples = []
        for r, row in enumerate(rows[start:start + _CITUS_VALUES_ROWS]):
            for c, value in enumerate(row):
                values[f"v{r}_{c}"] = Jsonb(value) if isinstance(value, dict) else value
            tuples.append("(" + ", ".join(f":v{r}_{c}" for c in range(len(row))) + ")")
        await session.execute(text(f"{head} VALUES {', '.join(tuples)}"), values)
    return len(rows)
