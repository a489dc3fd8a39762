"""The per-request GraphQL context: who calls, for which tenant, and one lazy transaction."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from service.accounts.models import Role
from service.accounts.roles import load_roles
from service.db import app_engine, run_alone, set_tenant
from service.errors import AuthError, PermissionDenied
from service.i18n import current_language
from service.tenants.principal import Principal, TenantInfo

ADMIN_ROLES = (Role.TENANT_ADMIN, Role.PLATFORM_ADMIN)
T = TypeVar("T")


class Context:
    def __init__(self, request: Request, principal: Principal) -> None:
        self.request = request
        self.principal = principal
        self.request_id: str = getattr(request.state, "request_id", None) or uuid.uuid4().hex
        self._session: AsyncSession | None = None
        # Sibling fields resolve concurrently: without this, two could each open a transaction.
        self._session_opening = asyncio.Lock()
        # DataLoaders, one instance per request, created on first use by each domain.
        self.loaders: dict[str, Any] = {}

    # -- tenant and roles ------------------------------------------------------------------
    @property
    def tenant(self) -> TenantInfo:
        if self.principal.tenant is None:
            raise AuthError(
                "TENANT_REQUIRED",
                "This request names no tenant: send a token or the 'X-Tenant: <slug>' header.",
                status=400,
            )
        return self.principal.tenant

    @property
    def cache_key(self) -> tuple:
        """Everything about the caller an answer can depend on (service.schema.execution keeps
        answers per caller under it): tenant, principal kind, user or API key, roles."""
        p = self.principal
        return (p.tenant.id if p.tenant else None, p.kind, p.user_id, p.api_key_id, p.roles, current_language())

    @property
    def client_address(self) -> str | None:
        return self.request.client.host if self.request.client else None

    async def roles(self) -> frozenset[Role]:
        if self.principal.roles is None:
            assert self.principal.user_id is not None and self.principal.tenant is not None
            self.principal.roles = await load_roles(await self.session(), self.principal.tenant.id,
                                                    self.principal.user_id, self.principal.token_version)
        return self.principal.roles

    async def has_role(self, *roles: Role) -> bool:
        if self.principal.user_id is None and self.principal.roles is None:
            return False
        return bool((await self.roles()).intersection(roles))

    async def is_admin(self) -> bool:
        return await self.has_role(*ADMIN_ROLES)

    async def require(self, *roles: Role) -> None:
        """Raise PermissionDenied unless the caller has one of these roles (admins pass too)."""
        if self.principal.user_id is None and self.principal.roles is None:
            raise PermissionDenied("Sign in first.")
        if not await self.has_role(*roles, *ADMIN_ROLES):
            raise PermissionDenied()
        self.tenant  # noqa: B018 - a platform token must still name a tenant

    async def require_user(self) -> uuid.UUID:
        if self.principal.user_id is None:
            raise PermissionDenied("Sign in first.")
        return self.principal.user_id

    # -- the transaction -----------------------------------------------------------------
    async def session(self) -> AsyncSession:
        if self._session is None:
            async with self._session_opening:
                if self._session is None:
                    session = AsyncSession(app_engine(), expire_on_commit=False)
                    await session.begin()
                    await set_tenant(session, self.principal.tenant.id if self.principal.tenant else None)
                    self._session = session
        return self._session

    async def finish(self, *, commit: bool) -> None:
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if commit:
                await session.commit()
            else:
                await session.rollback()
        finally:
            await session.close()
            self.loaders.clear()

    async def run_alone(self, statement: Callable[[psycopg.AsyncConnection[Any]], Awaitable[T]]) -> T:
        """`statement` on a pooled driver connection in autocommit, its own transaction
        (`service.db.run_alone`: it must be safe to run twice). Whatever this request already wrote
        commits first: the statement must not wait on locks its own request holds, nor commit them."""
        await self.commit_first()
        return await run_alone(statement)

    @property
    def in_transaction(self) -> bool:
        return self._session is not None

    async def commit_first(self) -> None:
        """Commits whatever this request already wrote, before work on connections of its own
        that must not wait on this request's locks, nor commit them."""
        if self._session is not None:
            await self.finish(commit=True)
