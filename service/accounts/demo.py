"""Demo accounts data: a password reset the admin issued and the staff member already used."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import operations

if TYPE_CHECKING:
    from service.demo import DemoLogins


async def seed_password_reset(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    user_id = (
        await session.execute(text("SELECT id FROM app_user WHERE kind = 'SUPPLIER' ORDER BY created_at LIMIT 1"))
    ).scalar_one_or_none()
    if user_id is None:
        return
    await operations.issue_password_reset(session, tenant_id=tenant_id, user_id=user_id, issued_by=None)
    # Used at once: the code shown nowhere works for nobody.
    await session.execute(
        text("UPDATE password_reset SET used_at = statement_timestamp() "
             "WHERE tenant_id = :t AND user_id = :u AND used_at IS NULL"),
        {"t": tenant_id, "u": user_id},
    )
