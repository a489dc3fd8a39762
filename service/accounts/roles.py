"""The roles of a signed-in user, derived from what the account is and what it has earned."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import AccountKind, Role
from service.errors import AuthError

_KIND_ROLE = {
    AccountKind.ADMIN: Role.TENANT_ADMIN,
    AccountKind.CUSTOMER: Role.CUSTOMER,
    AccountKind.SUPPLIER: Role.SUPPLIER,
}


async def load_roles(session: AsyncSession, user_id: UUID) -> frozenset[Role]:
    row = (
        await session.execute(
            text("SELECT kind, disabled_at FROM app_user WHERE id = :id"), {"id": user_id}
        )
    ).first()
    if row is None or row.disabled_at is not None:
        raise AuthError("INVALID_TOKEN", "The account behind this token no longer exists or is disabled.")
    roles = {_KIND_ROLE[AccountKind(row.kind)]}
    return frozenset(roles)
