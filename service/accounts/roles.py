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


def account_gone() -> AuthError:
    return AuthError("INVALID_TOKEN", "The account behind this token no longer exists or is disabled.")


async def load_roles(session: AsyncSession, user_id: UUID) -> frozenset[Role]:
    row = (
        await session.execute(
            text(
                "SELECT u.kind, u.disabled_at, u.supplier_id, l.status AS leader_status FROM app_user u"
                " LEFT JOIN leader l ON l.tenant_id = u.tenant_id AND l.user_id = u.id WHERE u.id = :id"
            ),
            {"id": user_id},
        )
    ).first()
    if row is None or row.disabled_at is not None:
        raise account_gone()
    roles = {_KIND_ROLE[AccountKind(row.kind)]}
    if row.leader_status == "APPROVED":  # a pending, suspended or rejected leader is a customer
        roles.add(Role.LEADER)
    if row.supplier_id is not None:
        roles.add(Role.SUPPLIER)
    return frozenset(roles)
