"""Demo money: the first approved leader gets an opening adjustment and one open withdrawal."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.ledger import operations


async def seed_ledger(session: AsyncSession, tenant_id: UUID, logins: Any) -> None:
    leader = (await session.execute(text(
        "SELECT id, user_id FROM leader WHERE status = 'APPROVED' ORDER BY created_at, id LIMIT 1"))).one_or_none()
    if leader is None:
        return
    await operations.adjust(session, tenant_id=tenant_id, leader_id=leader.id, beneficiary_id=leader.user_id,
                            amount="120.00", reason="演示期初余额 / Demo opening balance", actor_id=None)
    await operations.request_withdrawal(session, tenant_id=tenant_id, beneficiary_id=leader.user_id,
                                        leader_id=leader.id, amount="50.00", method="ALIPAY",
                                        account="demo-13800000000", account_name="演示团长")
