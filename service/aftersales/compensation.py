"""Compensation by coupon for a shortage or damaged goods: the hook.

Called in the same transaction right after every shortage/damage allocation has refunded its
lines (service/aftersales/shortage.allocate), with the refunds it made. It does nothing until
coupons exist: the coupons feature then grants here, e.g. one compensation coupon template per
tenant (a setting) to each affected order's customer, with `couponGrant`'s own idempotency keyed
by the refund ids so a repeated shipment or receipt (which allocates nothing more, and so calls
this with no refunds) grants nothing twice."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from service.aftersales.models import RefundReason
from service.aftersales.refunds import RefundResult
from service.tenants.principal import TenantInfo


async def compensate(session: AsyncSession, *, tenant: TenantInfo, reason: RefundReason,
                     refunds: RefundResult) -> None:
    """Grants nothing yet (no coupons); the refunds stand on their own."""
    del session, tenant, reason, refunds
