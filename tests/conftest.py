"""Test infrastructure: real PostgreSQL and Redis (embedded unless DATABASE_URL / REDIS_URL are
set), a fresh migrated database per test process, the API served over real HTTP by uvicorn.

Each test makes its own tenant(s), so tests never see each other's data.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

warnings.filterwarnings("ignore", module="platformdirs")

WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
# The tests' webhook receivers listen on loopback, which the network policy refuses unless allowed.
os.environ.setdefault("GROUPBUY_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")


@dataclass
class Services:
    owner_url: str  # libpq URL of the test database, as the owner
    redis_url: str
    data_dir: Path
    stop: list = field(default_factory=list)


def _create_database(server_url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    base = make_url(server_url)
    with psycopg.connect(base.set(drivername="postgresql", database="postgres").render_as_string(False),
                         autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return base.set(drivername="postgresql", database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def services() -> Iterator[Services]:
    from service.config import get_settings
    from service.embedded import EmbeddedPostgres, EmbeddedRedis

    # A private directory: pytest prunes its own old temp dirs, which another session may still use.
    data_dir = Path(tempfile.mkdtemp(prefix=f"groupbuy-test-{WORKER}-"))
    stop: list = []
    server_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if not server_url:
        pg = EmbeddedPostgres(data_dir, fast=True)
        server_url = pg.start()
        stop.append(pg.stop)
    if not redis_url:
        redis = EmbeddedRedis(data_dir, persist=False)
        redis_url = redis.start()
        stop.append(redis.stop)
    db_name = f"groupbuy_test_{WORKER}"
    owner = _create_database(server_url, db_name)
    os.environ.update(
        DATABASE_URL=owner,
        REDIS_URL=redis_url,
        GROUPBUY_DATA_DIR=str(data_dir),
        GROUPBUY_ENV="test",
        GROUPBUY_GRAPHIQL="true",
        GROUPBUY_INTROSPECTION="true",
        # Cheap hashes keep hundreds of test accounts fast; production uses the defaults.
        GROUPBUY_ARGON2_TIME_COST="1",
        GROUPBUY_ARGON2_MEMORY_KIB="8192",
        GROUPBUY_LOGIN_ATTEMPTS_PER_ADDRESS="100000",
        GROUPBUY_REGISTER_ATTEMPTS_PER_ADDRESS="100000",
    )
    get_settings.cache_clear()
    from service.migrate import migrate

    migrate()
    yield Services(owner_url=owner, redis_url=redis_url, data_dir=data_dir, stop=stop)
    for fn in reversed(stop):
        fn()
    shutil.rmtree(data_dir, ignore_errors=True)


class ServerThread(threading.Thread):
    def __init__(self, app: Any, port: int) -> None:
        import uvicorn

        super().__init__(daemon=True)
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        )

    def run(self) -> None:
        self.server.run()

    def stop(self) -> None:
        self.server.should_exit = True
        self.join(10)


@pytest.fixture(scope="session")
def api_url(services: Services) -> Iterator[str]:
    from service.app import create_app
    from service.embedded import free_port

    port = free_port()
    server = ServerThread(create_app(), port)
    server.start()
    deadline = time.monotonic() + 20
    while not server.server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.stop()


class GraphQLClient:
    """Talks to /graphql over HTTP like any tenant front-end does."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=base_url, timeout=60)

    def post(self, query: str, variables: dict | None = None, *, token: str | None = None,
             tenant: str | None = None, headers: dict | None = None) -> httpx.Response:
        h = dict(headers or {})
        if token:
            h["Authorization"] = f"Bearer {token}"
        if tenant:
            h["X-Tenant"] = tenant
        return self.http.post("/graphql", json={"query": query, "variables": variables or {}}, headers=h)

    def __call__(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        """The JSON body; fails the test on a non-JSON answer."""
        response = self.post(query, variables, **kw)
        return response.json()

    def data(self, query: str, variables: dict | None = None, **kw: Any) -> dict:
        """`data`, asserting there were no GraphQL errors."""
        body = self(query, variables, **kw)
        assert not body.get("errors"), body.get("errors")
        return body["data"]


@pytest.fixture(scope="session")
def gql(api_url: str) -> GraphQLClient:
    return GraphQLClient(api_url)


@pytest.fixture(scope="session")
def platform_token(services: Services) -> str:
    from service.config import get_settings

    return get_settings().platform_token_value


@dataclass
class TenantHandle:
    id: str  # global ID
    uuid: uuid.UUID
    slug: str
    api_key: str
    admin_email: str
    admin_password: str
    admin_token: str


TENANT_CREATE = """
mutation($input: TenantCreateInput!) {
  tenantCreate(input: $input) { tenant { id slug } apiKey errors { code field message } }
}"""
TOKEN_CREATE = """
mutation($input: TokenCreateInput!) {
  tokenCreate(input: $input) { token viewer { userId roles } errors { code field message } }
}"""
CUSTOMER_REGISTER = """
mutation($input: CustomerRegisterInput!) {
  customerRegister(input: $input) { token viewer { userId roles } errors { code field message } }
}"""


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def make_tenant(gql: GraphQLClient, platform_token: str):  # type: ignore[no-untyped-def]
    def make(**overrides: Any) -> TenantHandle:
        from service import global_id

        slug = overrides.pop("slug", unique("t"))
        password = "admin-password-1"
        email = f"admin@{slug}.example"
        data = gql.data(TENANT_CREATE, {"input": {"slug": slug, "name": f"Tenant {slug}",
                                                  "adminEmail": email, "adminPassword": password,
                                                  **overrides}}, token=platform_token)
        payload = data["tenantCreate"]
        assert payload["errors"] == [], payload
        token = sign_in(gql, slug, email, password)
        tid = payload["tenant"]["id"]
        return TenantHandle(id=tid, uuid=global_id.decode(tid)[1], slug=slug, api_key=payload["apiKey"],
                            admin_email=email, admin_password=password, admin_token=token)

    return make


@pytest.fixture
def tenant(make_tenant) -> TenantHandle:  # type: ignore[no-untyped-def]
    return make_tenant()


def sign_in(gql: GraphQLClient, slug: str, login: str, password: str) -> str:
    payload = gql.data(TOKEN_CREATE, {"input": {"login": login, "password": password}}, tenant=slug)["tokenCreate"]
    assert payload["errors"] == [], payload
    return payload["token"]


@dataclass
class CustomerHandle:
    token: str
    user_id: str
    phone: str
    password: str


@pytest.fixture
def make_customer(gql: GraphQLClient):  # type: ignore[no-untyped-def]
    counter = iter(range(10**6))

    def make(tenant: TenantHandle, name: str | None = None) -> CustomerHandle:
        phone = f"+86139{uuid.uuid4().int % 10**8:08d}"
        password = "customer-pass-1"
        payload = gql.data(CUSTOMER_REGISTER, {"input": {"displayName": name or f"Customer {next(counter)}",
                                                         "phone": phone, "password": password}},
                           tenant=tenant.slug)["customerRegister"]
        assert payload["errors"] == [], payload
        return CustomerHandle(token=payload["token"], user_id=payload["viewer"]["userId"], phone=phone,
                              password=password)

    return make


@pytest.fixture
def owner_db(services: Services) -> Iterator[psycopg.Connection]:
    """The test database as the owner (superuser here): sees every tenant, for assertions."""
    with psycopg.connect(services.owner_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def app_db_url(services: Services) -> str:
    from service.db import app_url, libpq_url

    return libpq_url(app_url())


def run_db(fn):  # type: ignore[no-untyped-def]
    """Runs `await fn(engine)` with a private app-role engine, outside the API server's loop."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service.db import app_url

    async def main():  # type: ignore[no-untyped-def]
        engine = create_async_engine(app_url(), poolclass=NullPool)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


@pytest.fixture
def seeded_tenant(make_tenant):  # type: ignore[no-untyped-def]
    """A tenant with demo data in every domain (every domain's DEMO_SEEDS)."""

    def make() -> TenantHandle:
        from service.demo import DemoLogins, seed_tenant

        handle = make_tenant()
        run_db(lambda engine: seed_tenant(handle.uuid, DemoLogins(handle.slug), engine=engine))
        return handle

    return make


@pytest.fixture
def sql_statements(api_url):  # type: ignore[no-untyped-def]
    """Statements the API sends to PostgreSQL, counted while the test runs (the API is in-process)."""
    from sqlalchemy import event

    from service.db import app_engine

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)
