"""Engines and the tenant-scoped transaction.

The service connects as the app role (owns no table, no BYPASSRLS); migrations and
platform maintenance connect as the owner. The tenant is set once per transaction with
`set_config('app.tenant_id', ..., true)` so it can never leak through a pooled connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

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


async def set_tenant(session: AsyncSession, tenant_id: UUID | None) -> None:
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
