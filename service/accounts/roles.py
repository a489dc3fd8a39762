"""The roles of a signed-in user, derived from what the account is and what it has earned."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import AccountKind, Role
from service.db import run_alone
from service.errors import AuthError

_KIND_ROLE = {
    AccountKind.ADMIN: Role.TENANT_ADMIN,
    AccountKind.CUSTOMER: Role.CUSTOMER,
    AccountKind.SUPPLIER: Role.SUPPLIER,
}


def account_gone() -> AuthError:
    return AuthError("INVALID_TOKEN", "The account behind this token no longer exists or is disabled.")


def token_expired() -> AuthError:
    return AuthError("TOKEN_EXPIRED", "The password was changed; sign in again.")


def _roles(kind: str, supplier_id: UUID | None, leader_status: str | None) -> frozenset[Role]:
    roles = {_KIND_ROLE[AccountKind(kind)]}
    if leader_status == "APPROVED":  # a pending, suspended or rejected leader is a customer
        roles.add(Role.LEADER)
    if supplier_id is not None:
        roles.add(Role.SUPPLIER)
    return frozenset(roles)


async def account_roles(tenant_id: UUID, user_id: UUID, token_version: int = 0) -> frozenset[Role]:
    """The roles of an account that exists and is not disabled, in one round trip on a connection
    of its own (account_state sets the tenant for row-level security itself). A token issued
    before the account's last password change (an older `token_version`) is refused."""

    async def state(conn: psycopg.AsyncConnection[Any]) -> tuple[Any, ...] | None:
        cursor = await conn.execute("SELECT * FROM account_state(%s, %s)", (tenant_id, user_id))
        return await cursor.fetchone()

    row = await run_alone(state)
    if row is None:
        raise account_gone()
    if row[3] != token_version:
        raise token_expired()
    return _roles(row[0], row[1], row[2])


async def load_roles(
    session: AsyncSession, tenant_id: UUID, user_id: UUID, token_version: int | None = None
) -> frozenset[Role]:
    """The roles, in the request's session; `token_version`: refuse a token older than the
    account's last password change, as account_roles does."""
    row = (
        await session.execute(
            text(
                "SELECT u.kind, u.disabled_at, u.supplier_id, u.token_version, l.status AS leader_status"
                " FROM app_user u"
                " LEFT JOIN leader l ON l.tenant_id = u.tenant_id AND l.user_id = u.id"
                " WHERE u.tenant_id = :t AND u.id = :id"
            ),
            {"t": tenant_id, "id": user_id},
        )
    ).first()
    if row is None or row.disabled_at is not None:
        raise account_gone()
    if token_version is not None and row.token_version != token_version:
        raise token_expired()
    return _roles(row.kind, row.supplier_id, row.leader_status)
