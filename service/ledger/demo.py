"""Demo money: the first approved leader, and a sharer, get an opening adjustment and one open withdrawal."""

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
    # A sharer (a customer who is no leader) with an opening balance and one open withdrawal.
    sharer = (await session.execute(text(
        "SELECT u.id FROM app_user u WHERE u.kind = 'CUSTOMER' AND NOT EXISTS "
        "(SELECT 1 FROM leader l WHERE l.tenant_id = u.tenant_id AND l.user_id = u.id) "
        "ORDER BY u.created_at, u.id LIMIT 1"))).scalar_one_or_none()
    if sharer is None:
        return
    await operations.adjust(session, tenant_id=tenant_id, leader_id=None, beneficiary_id=sharer, amount="30.00",
                            reason="演示期初余额 / Demo opening balance", actor_id=None)
    await operations.request_withdrawal(session, tenant_id=tenant_id, beneficiary_id=sharer, leader_id=None,
                                        amount="20.00", method="WECHAT", account="demo-wx-13900000102",
                                        account_name="演示分享者")
