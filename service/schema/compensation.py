"""Compensation by coupon (shortages, damaged goods, after-sales): the tenant's mode and what a
compensation granted or why it could not."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.aftersales import compensation
from service.schema.common import Money, UserError, describe_values
from service.schema.context import Context
from service.schema.coupons import Coupon
from service.schema.node import load_node

Info = strawberry.Info[Context, None]

CompensationMode = strawberry.enum(compensation.CompensationMode, name="CompensationMode",
                                   description="How the tenant compensates a shortage, damaged goods or an approved "
                                               "after-sales request.")
describe_values(CompensationMode, {
    "NONE": "Refunds only.",
    "COUPON_AND_REFUND": "The refund, and a coupon from the compensation template on top.",
    "COUPON_INSTEAD_OF_REFUND": "A coupon from the compensation template instead of the money for the units; when "
                                "no coupon can be granted, the refund after all (shortages), or a refused approval "
                                "(after-sales).",
})


@strawberry.type(name="CouponCompensation", description="A compensation by coupon of one order line: granted, or why "
                                                        "not (then the refund, if any, still stands).")
class CouponCompensation:
    mode: CompensationMode = strawberry.field(description="On top of the refund or instead of it.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    quantity: int = strawberry.field(description="The units it compensates.")
    kept: Money = strawberry.field(description="What was paid for those units and not refunded (coupon instead of "
                                                "the refund); zero otherwise.")
    errors: list[UserError] = strawberry.field(description="Why no coupon was granted (e.g. COUPON_EXHAUSTED, "
                                                           "COUPON_EXPIRED, NOT_FOUND); empty when it was.")
    created_at: datetime = strawberry.field(description="When it was granted or refused.")
    coupon_id: strawberry.Private[UUID | None]

    @strawberry.field(description="The coupon granted; null when none was (see errors), or not yours to see.")
    async def coupon(self, info: Info) -> Coupon | None:
        if self.coupon_id is None:
            return None
        found = await load_node(info.context, global_id.encode("Coupon", self.coupon_id))
        return found if isinstance(found, Coupon) else None

    @classmethod
    def of(cls, row: Any, field_name: str | None = None) -> CouponCompensation:
        errors = [] if row.error_code is None else [UserError.of(compensation.failure(row.error_code, field_name))]
        return cls(mode=compensation.CompensationMode(row.mode), quantity=row.quantity,
                   kept=Money.of(row.kept_minor, row.currency), errors=errors, created_at=row.created_at,
                   coupon_id=row.coupon_id)


async def compensations_of_request(session: AsyncSession, request_id: UUID,
                                   field_name: str | None = None) -> list[CouponCompensation]:
    """`field_name`: the argument its errors are about (afterSalesApprove's couponTemplateId)."""
    rows = (await session.execute(text(
        "SELECT mode, quantity, kept_minor, currency, error_code, created_at, coupon_id FROM compensation "
        "WHERE after_sales_request_id = :r ORDER BY created_at, id"), {"r": request_id})).all()
    return [CouponCompensation.of(r, field_name) for r in rows]
