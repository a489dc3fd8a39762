"""Coupons: templates (admins), claims and grants, a customer's coupons, the report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import text
from strawberry.dataloader import DataLoader

from service import global_id
from service.accounts.models import Role
from service.coupons import claims, packs, queries, templates
from service.coupons.templates import CouponAudience as CouponAudienceEnum
from service.coupons.templates import CouponKind as CouponKindEnum
from service.errors import ErrorCode, fail
from service.growth.queries import mask_name
from service.i18n import localize, msg
from service.schema.access import (
    ADMINS,
    USERS,
    Caller,
    KeyedLoader,
    check_page,
    decode,
    existing,
    get_loader,
    is_admin,
    requires,
    serial_session,
)
from service.schema.batches import BatchByIdLoader
from service.schema.common import Money, Node, UserError, describe_values
from service.schema.context import Context
from service.schema.growth import ShareCode
from service.schema.mutation import run_mutation
from service.schema.node import load_node, node_loader
from service.schema.pagination import Connection

if TYPE_CHECKING:
    from service.schema.orders import Order

Info = strawberry.Info[Context, None]

CouponKind = strawberry.enum(CouponKindEnum, name="CouponKind", description="What a coupon takes off.")
describe_values(CouponKind, {
    "AMOUNT_OFF": "An amount off the lines in scope once they reach the threshold (满减).",
    "PERCENT_OFF": "A percentage off the lines in scope, at most maxDiscount.",
    "UNIT_OFF": "An amount off one unit of the one offer named (at most its price).",
})
CouponAudience = strawberry.enum(CouponAudienceEnum, name="CouponAudience", description="Who may claim a coupon.")
describe_values(CouponAudience, {
    "ANYONE": "Every customer of the tenant.",
    "NEW_CUSTOMERS": "Customers without an order yet (cancelled orders do not count).",
    "GROUP_MEMBERS": "Members of the template's community groups.",
})


class CouponStatusEnum(str, Enum):
    AVAILABLE = "AVAILABLE"
    RESERVED = "RESERVED"
    USED = "USED"
    EXPIRED = "EXPIRED"


CouponStatus = strawberry.enum(CouponStatusEnum, name="CouponStatus", description="Where a coupon is.")
describe_values(CouponStatus, {
    "AVAILABLE": "Claimed and not used: usable within its validity.",
    "RESERVED": "Held by an unpaid order; released if that order is cancelled or expires.",
    "USED": "Its order was paid.",
    "EXPIRED": "Past its validity, or its template was ended with its claimed coupons voided.",
})


class CommissionBaseEnum(str, Enum):
    COMMISSION_ON_PAID = "COMMISSION_ON_PAID"
    COMMISSION_ON_LIST_PRICE = "COMMISSION_ON_LIST_PRICE"


CommissionBase = strawberry.enum(CommissionBaseEnum, name="CommissionBase",
                                 description="What a leader's commission is computed on when an order took a coupon.")
describe_values(CommissionBase, {
    "COMMISSION_ON_PAID": "The price after the discount (the default).",
    "COMMISSION_ON_LIST_PRICE": "The list price, as if there were no coupon.",
})


def _money(minor: int | None, currency: str) -> Money | None:
    return None if minor is None else Money.of(minor, currency)


@strawberry.type(name="CouponTemplate", description="What coupons of one kind give, to whom, and how many.")
class CouponTemplate(Node):
    id: strawberry.ID = strawberry.field(description="The template's global ID.")
    name: str = strawberry.field(description="The name customers see.")
    kind: CouponKind = strawberry.field(description="What it takes off.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    active: bool = strawberry.field(description="Open for claims now: not paused or ended, not sold out, "
                                    "budget left, valid.")
    claimed: int = strawberry.field(description="Coupons handed out (claims and grants).")
    used: int = strawberry.field(description="Coupons whose order was paid.")
    total_quantity: int | None = strawberry.field(description="At most this many are handed out; null: no limit.")
    per_customer_limit: int = strawberry.field(description="At most this many claims per customer.")
    audience: CouponAudience = strawberry.field(description="Who may claim.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    percent_off: Decimal | None = strawberry.field(description="PERCENT_OFF: the percentage (15 = 15%).")
    valid_from: datetime | None = strawberry.field(description="Coupons are usable from then; null: at once.")
    valid_until: datetime | None = strawberry.field(description="Coupons are usable until then; null: no end date.")
    valid_days_after_claim: int | None = strawberry.field(description="Each coupon is usable this many days after "
                                                                      "its claim (and not past validUntil).")
    paused: bool = strawberry.field(description="Claims are paused.")
    ended_at: datetime | None = strawberry.field(description="When claims were ended for good; null while not.")
    stacks_with_group_price: bool = strawberry.field(description="Whether it combines with 拼团 prices.")
    row: strawberry.Private[Any]

    @classmethod
    def of(cls, row: Any, now: datetime | None = None) -> CouponTemplate:
        return cls(
            id=strawberry.ID(global_id.encode("CouponTemplate", row.id)), name=row.name,
            kind=CouponKindEnum(row.kind),
            active=templates.is_active(row, now or datetime.now(row.created_at.tzinfo)),
            claimed=row.claimed, used=row.used, total_quantity=row.total_quantity,
            per_customer_limit=row.per_customer_limit, audience=CouponAudienceEnum(row.audience),
            percent_off=row.percent_off, valid_from=row.valid_from, valid_until=row.valid_until,
            valid_days_after_claim=row.valid_days, paused=row.paused, ended_at=row.ended_at,
            stacks_with_group_price=row.stacks_with_group_price, row=row,
        )

    @strawberry.field(description="The money budget for all redemptions; null: none.")
    def budget(self) -> Money | None:
        return _money(self.row.budget_minor, self.row.currency)

    @strawberry.field(description="Discounts of orders holding or having used these coupons: never above the budget.")
    def discount_given(self) -> Money:
        return Money.of(self.row.discount_given_minor, self.row.currency)

    @strawberry.field(description="AMOUNT_OFF and UNIT_OFF: the amount off.")
    def amount_off(self) -> Money | None:
        return _money(self.row.amount_off_minor, self.row.currency)

    @strawberry.field(description="PERCENT_OFF: the most it takes off; null: no cap.")
    def max_discount(self) -> Money | None:
        return _money(self.row.max_discount_minor, self.row.currency)

    @strawberry.field(description="The lines in scope must reach this before it applies.")
    def threshold(self) -> Money:
        return Money.of(self.row.threshold_minor, self.row.currency)

    @strawberry.field(description="Only this batch's lines; null: any batch.")
    def batch_id(self) -> strawberry.ID | None:
        return None if self.row.batch_id is None else strawberry.ID(global_id.encode("Batch", self.row.batch_id))

    @strawberry.field(description="Only these offers' lines; null: every offer in scope.")
    def offer_ids(self) -> list[strawberry.ID] | None:
        ids = self.row.offer_ids
        return None if ids is None else [strawberry.ID(global_id.encode("Offer", i)) for i in ids]


class TemplateByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.templates_by_ids)
    pass_tenant = True


class CouponByIdLoader(DataLoader[UUID, Any]):
    """A customer's own coupons; admins see any."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        customer = None if await is_admin(self.context) else self.context.principal.user_id
        if customer is None and not await is_admin(self.context):
            return [None for _ in keys]
        async with serial_session(self.context) as session:
            found = await queries.coupons_by_ids(session, tenant_id=self.context.tenant.id, ids=list(keys),
                                                 customer_id=customer)
        return [found.get(k) for k in keys]


@strawberry.type(name="Coupon", description="A coupon a customer holds.")
class Coupon(Node):
    id: strawberry.ID = strawberry.field(description="The coupon's global ID: give it as OrderPlaceInput.couponId.")
    status: CouponStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    valid_from: datetime | None = strawberry.field(description="Usable from then; null: at once.")
    valid_until: datetime | None = strawberry.field(description="Usable until then; null: no end.")
    claimed_at: datetime = strawberry.field(description="When it was claimed or granted.")
    granted: bool = strawberry.field(description="Granted by an admin rather than claimed.")
    row: strawberry.Private[Any]

    @classmethod
    def of(cls, row: Any) -> Coupon:
        return cls(id=strawberry.ID(global_id.encode("Coupon", row.id)),
                   status=CouponStatusEnum(getattr(row, "shown", None) or row.status),
                   valid_from=row.valid_from, valid_until=row.valid_until, claimed_at=row.claimed_at,
                   granted=row.granted, row=row)

    @strawberry.field(description="Its template.")
    async def template(self, info: Info) -> CouponTemplate:
        return CouponTemplate.of(await get_loader(info.context, TemplateByIdLoader).load(self.row.template_id))

    @strawberry.field(description="Whether an order can take it now: AVAILABLE, within its validity and, for a "
                                  "new-customer coupon, while its holder has no order yet (cancelled ones do not "
                                  "count): once they have ordered, it is refused at use.")
    def usable(self) -> bool:
        return self._unusable() is None and self._shown() == "AVAILABLE"

    @strawberry.field(description="Why an AVAILABLE coupon cannot be used now, in the request's language (e.g. a "
                                  "new-customer coupon after a first order); null when it can, or when its status "
                                  "says why.")
    def unusable_reason(self) -> str | None:
        reason = self._unusable()
        return None if reason is None else localize(msg(reason))

    def _shown(self) -> str:
        return str(getattr(self.row, "shown", None) or self.row.status)

    def _unusable(self) -> str | None:
        if self._shown() != "AVAILABLE":
            return None
        if getattr(self.row, "spent", False):
            return "coupons.ordered_since"
        if self.valid_from is not None and self.valid_from > datetime.now(UTC):
            return "coupons.not_valid_yet"
        return None

    @strawberry.field(description="The order holding or having used it; null while AVAILABLE.")
    async def order(self, info: Info) -> Annotated[Order, strawberry.lazy("service.schema.orders")] | None:
        if self.row.order_id is None:
            return None
        # Through node(): the order types import this module.
        return await load_node(info.context, global_id.encode("Order", self.row.order_id))

    @strawberry.field(description="What it took off its order; zero while AVAILABLE.")
    async def discount(self, info: Info) -> Money:
        template = await get_loader(info.context, TemplateByIdLoader).load(self.row.template_id)
        return Money.of(self.row.discount_minor, template.currency)


@node_loader("CouponTemplate")
async def _load_template_node(context: Context, id: UUID) -> CouponTemplate | None:
    row = await get_loader(context, TemplateByIdLoader).load(id)
    return CouponTemplate.of(row) if row else None


@node_loader("Coupon")
async def _load_coupon_node(context: Context, id: UUID) -> Coupon | None:
    row = await get_loader(context, CouponByIdLoader).load(id)
    return Coupon.of(row) if row else None


async def coupon_of_order(context: Context, coupon_id: UUID | None) -> Coupon | None:
    """Order.coupon."""
    return None if coupon_id is None else await _load_coupon_node(context, coupon_id)


@strawberry.type(name="CouponReportRow", description="One template's figures.")
class CouponReportRow:
    template: CouponTemplate = strawberry.field(description="The template.")
    claimed: int = strawberry.field(description="Coupons handed out.")
    reserved: int = strawberry.field(description="Held by unpaid orders.")
    used: int = strawberry.field(description="Used by paid orders.")
    expired: int = strawberry.field(description="Unused and past their validity, or voided.")
    discount_given: Money = strawberry.field(description="Discounts reserved and used.")
    discount_used: Money = strawberry.field(description="Discounts of paid orders.")
    budget: Money | None = strawberry.field(description="The budget; null: none.")


# -- inputs and payloads ----------------------------------------------------------------------
@strawberry.input(description="A new coupon template.")
class CouponTemplateInput:
    name: str = strawberry.field(description="The name customers see, 1 to 100 characters.")
    kind: CouponKind = strawberry.field(description="What it takes off.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    amount_off: Decimal | None = strawberry.field(default=None, description="AMOUNT_OFF and UNIT_OFF: the amount.")
    percent_off: Decimal | None = strawberry.field(default=None, description="PERCENT_OFF: the percentage, "
                                                                            "above 0 and at most 100.")
    max_discount: Decimal | None = strawberry.field(default=None, description="PERCENT_OFF: the cap.")
    threshold: Decimal | None = strawberry.field(default=None, description="The lines in scope must reach this.")
    offer_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="Only these offers' lines "
                                                                                       "(UNIT_OFF: exactly one).")
    batch_id: strawberry.ID | None = strawberry.field(default=None, description="Only this batch's lines.")
    valid_from: datetime | None = strawberry.field(default=None, description="Usable from then.")
    valid_until: datetime | None = strawberry.field(default=None, description="Usable and claimable until then.")
    valid_days_after_claim: int | None = strawberry.field(default=None, description="Each coupon usable this many "
                                                                                    "days after its claim.")
    per_customer_limit: int | None = strawberry.field(default=1, description="Claims per customer, 1 to 1000.")
    total_quantity: int | None = strawberry.field(default=None, description="At most this many handed out.")
    budget: Decimal | None = strawberry.field(default=None, description="Money for all redemptions: never passed.")
    audience: CouponAudience | None = strawberry.field(default=CouponAudienceEnum.ANYONE,  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                       description="Who may claim.")
    community_group_ids: list[strawberry.ID] | None = strawberry.field(default=None, description="GROUP_MEMBERS: "
                                                                                                 "the groups.")
    stacks_with_group_price: bool | None = strawberry.field(default=False, description="Whether it combines with "
                                                                                      "拼团 prices.")


@strawberry.type(description="The result of a coupon template mutation.")
class CouponTemplatePayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    template: CouponTemplate | None = strawberry.field(default=None, description="The template; null when refused.")


@strawberry.type(description="The result of couponClaim.")
class CouponPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    coupon: Coupon | None = strawberry.field(default=None, description="The coupon; null when refused.")


@strawberry.type(description="The result of couponGrant.")
class CouponGrantPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused (then none was granted).")
    granted: int = strawberry.field(default=0, description="How many coupons were granted.")


@strawberry.type(description="The tenant's coupon settings.")
class CouponSettings:
    commission_base: CommissionBase = strawberry.field(description="What commissions are computed on.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    release_on_refund: bool = strawberry.field(description="A coupon comes back when its order is refunded whole.")


@strawberry.type(description="The result of couponSettingsUpdate.")
class CouponSettingsPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    settings: CouponSettings | None = strawberry.field(default=None, description="The settings as they are now.")


def _ids(values: list[strawberry.ID] | None, type_name: str) -> list[UUID | None] | None:
    return None if values is None else [decode(v, type_name) for v in values]


async def _settings(session: Any) -> CouponSettings:
    row = (await session.execute(text("SELECT commission_base, coupon_release_on_refund FROM tenant "
                                      "WHERE id = current_tenant_id()"))).one()
    return CouponSettings(commission_base=CommissionBaseEnum(row[0]), release_on_refund=row[1])


PAGE_FIRST = Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                   "(GROUPBUY_MAX_PAGE_SIZE).")]
PAGE_AFTER = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; leave it "
                                                                   "out for the first page.")]


@strawberry.type
class CouponTemplatesQuery:
    @strawberry.field(description="Every coupon template of the tenant, oldest first.")
    @requires(ADMINS)
    async def coupon_templates(self, info: Info, first: PAGE_FIRST = 20, after: PAGE_AFTER = None
                               ) -> Connection[CouponTemplate]:
        size = check_page(first, after)
        async with serial_session(info.context) as session:
            page = await queries.list_templates(session, tenant_id=info.context.tenant.id, first=size, after=after)
        return Connection.of(page, CouponTemplate.of)

    @strawberry.field(description="Templates open for claims now: the whole tenant's, and with batchId, those of "
                                  "that batch or its offers (a leader sees what is active for their point's batch).")
    @requires(USERS, ADMINS)
    async def available_coupons(
        self, info: Info,
        batch_id: Annotated[strawberry.ID | None, strawberry.argument(description="Only those usable in this batch.")
                            ] = None,
    ) -> list[CouponTemplate]:
        batch = await existing(info.context, BatchByIdLoader, batch_id, "Batch", "batchId")
        async with serial_session(info.context) as session:
            rows = await queries.available_templates(session, tenant_id=info.context.tenant.id,
                                                     batch_id=batch and batch.id)
        return [CouponTemplate.of(r) for r in rows]

    @strawberry.field(description="The signed-in customer's coupons, newest claims last.")
    @requires(Caller.CUSTOMER)
    async def my_coupons(
        self, info: Info,
        usable: Annotated[bool | None, strawberry.argument(description="true: only usable now; false: only not "
                                                                        "usable (used, held, expired, a new-customer "
                                                                        "coupon after a first order); null: all.")
                          ] = None,
        first: PAGE_FIRST = 20, after: PAGE_AFTER = None,
    ) -> Connection[Coupon]:
        size = check_page(first, after)
        customer = await info.context.require_user()
        async with serial_session(info.context) as session:
            page = await queries.my_coupons(session, tenant_id=info.context.tenant.id, customer_id=customer,
                                            usable=usable, first=size, after=after)
        return Connection.of(page, Coupon.of)

    @strawberry.field(description="Per template: claimed, reserved, used, expired, and the discount given against "
                                  "the budget. As CSV: GET /exports/coupon-report.csv.")
    @requires(ADMINS)
    async def coupon_report(self, info: Info) -> list[CouponReportRow]:
        async with serial_session(info.context) as session:
            rows = await queries.report(session)
            found = await queries.templates_by_ids(session, tenant_id=info.context.tenant.id, ids=[r.id for r in rows])
        return [CouponReportRow(
            template=CouponTemplate.of(found[r.id]), claimed=r.claimed, reserved=r.reserved, used=r.used,
            expired=r.expired, discount_given=Money.of(r.discount_given_minor, r.currency),
            discount_used=Money.of(r.discount_used_minor, r.currency), budget=_money(r.budget_minor, r.currency),
        ) for r in rows]

    @strawberry.field(description="The tenant's coupon settings.")
    @requires(ADMINS)
    async def coupon_settings(self, info: Info) -> CouponSettings:
        async with serial_session(info.context) as session:
            return await _settings(session)


@strawberry.type
class CouponTemplatesMutation:
    @strawberry.mutation(description="Creates a coupon template, open for claims at once.")
    @requires(ADMINS)
    async def coupon_template_create(
        self, info: Info,
        input: Annotated[CouponTemplateInput, strawberry.argument(description="The template.")],
    ) -> CouponTemplatePayload:
        context = info.context

        async def action(session: Any) -> dict:
            spec = templates.TemplateSpec(
                name=input.name, kind=CouponKindEnum(input.kind), amount_off=input.amount_off,
                percent_off=input.percent_off, max_discount=input.max_discount, threshold=input.threshold,
                offer_ids=_ids(input.offer_ids, "Offer"),
                batch_id=decode(input.batch_id, "Batch") if input.batch_id is not None else None,
                valid_from=input.valid_from, valid_until=input.valid_until,
                valid_days_after_claim=input.valid_days_after_claim,
                per_customer_limit=1 if input.per_customer_limit is None else input.per_customer_limit,
                total_quantity=input.total_quantity, budget=input.budget,
                audience=CouponAudienceEnum(input.audience or CouponAudienceEnum.ANYONE),
                community_group_ids=_ids(input.community_group_ids, "CommunityGroup"),
                stacks_with_group_price=bool(input.stacks_with_group_price), batch_given=input.batch_id is not None,
            )
            row = await templates.create_template(session, tenant=context.tenant, spec=spec)
            return {"template": CouponTemplate.of(row)}

        return await run_mutation(context, CouponTemplatePayload, action)

    @strawberry.mutation(description="Ends claims for good. Coupons already claimed stay usable unless voidClaimed.")
    @requires(ADMINS)
    async def coupon_template_end(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The template's global ID.")],
        void_claimed: Annotated[bool | None, strawberry.argument(description="Also void the claimed coupons not "
                                                                             "yet held by an order.")] = False,
    ) -> CouponTemplatePayload:
        async def action(session: Any) -> dict:
            row = await templates.end_template(session, tenant_id=info.context.tenant.id,
                                               template_id=decode(id, "CouponTemplate"),
                                               void_claimed=bool(void_claimed))
            return {"template": CouponTemplate.of(row)}

        return await run_mutation(info.context, CouponTemplatePayload, action)

    @strawberry.mutation(description="Pauses claims (paused: true) or resumes them.")
    @requires(ADMINS)
    async def coupon_template_pause(
        self, info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The template's global ID.")],
        paused: Annotated[bool, strawberry.argument(description="true: pause; false: resume.")],
    ) -> CouponTemplatePayload:
        async def action(session: Any) -> dict:
            row = await templates.pause_template(session, tenant_id=info.context.tenant.id,
                                                 template_id=decode(id, "CouponTemplate"), paused=paused)
            return {"template": CouponTemplate.of(row)}

        return await run_mutation(info.context, CouponTemplatePayload, action)

    @strawberry.mutation(description="The signed-in customer claims a coupon (领券); the same idempotencyKey again "
                                      "returns the same coupon.")
    @requires(Caller.CUSTOMER)
    async def coupon_claim(
        self, info: Info,
        template_id: Annotated[strawberry.ID, strawberry.argument(description="The template's global ID.")],
        idempotency_key: Annotated[str, strawberry.argument(description="A key of the client's: a retry with it "
                                                                        "never claims twice.")],
    ) -> CouponPayload:
        context = info.context

        async def action(session: Any) -> dict:
            customer = await context.require_user()
            if not await context.has_role(Role.CUSTOMER):
                raise fail(ErrorCode.FORBIDDEN, "Only customers claim coupons.")
            row = await claims.claim(session, tenant_id=context.tenant.id, customer_id=customer,
                                     template_id=decode(template_id, "CouponTemplate"), idempotency_key=idempotency_key)
            found = await queries.coupons_by_ids(session, tenant_id=context.tenant.id, ids=[row.id],
                                                 customer_id=customer)
            return {"coupon": Coupon.of(found[row.id])}

        return await run_mutation(context, CouponPayload, action)

    @strawberry.mutation(description="Grants one coupon to each customer named, and to each member of a community "
                                      "group: all or none, within the total quantity.")
    @requires(ADMINS)
    async def coupon_grant(
        self, info: Info,
        template_id: Annotated[strawberry.ID, strawberry.argument(description="The template's global ID.")],
        user_ids: Annotated[list[strawberry.ID], strawberry.argument(description="Customers' user IDs.")],
        community_group_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Also every member of this community group.")] = None,
        idempotency_key: Annotated[str | None, strawberry.argument(
            description="The same key again (for this template) grants nothing more and returns what the "
                        "first grant did (1 to 190 characters); left out: every call grants.")] = None,
    ) -> CouponGrantPayload:
        async def action(session: Any) -> dict:
            granted = await claims.grant(
                session, tenant_id=info.context.tenant.id, template_id=decode(template_id, "CouponTemplate"),
                user_ids=[decode(u, "User") for u in user_ids],
                community_group_id=decode(community_group_id, "CommunityGroup") if community_group_id else None,
                group_given=community_group_id is not None, idempotency_key=idempotency_key)
            return {"granted": granted}

        return await run_mutation(info.context, CouponGrantPayload, action)

    @strawberry.mutation(description="Sets the tenant's coupon settings; a value left out stays.")
    @requires(ADMINS)
    async def coupon_settings_update(
        self, info: Info,
        commission_base: Annotated[CommissionBase | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="What commissions are computed on.")] = None,
        release_on_refund: Annotated[bool | None, strawberry.argument(
            description="Whether a coupon comes back when its order is refunded whole.")] = None,
    ) -> CouponSettingsPayload:
        async def action(session: Any) -> dict:
            await session.execute(
                text("UPDATE tenant SET commission_base = coalesce(:b, commission_base), "
                     "coupon_release_on_refund = coalesce(:r, coupon_release_on_refund) "
                     "WHERE id = current_tenant_id()"),
                {"b": commission_base.value if commission_base is not None else None, "r": release_on_refund})
            return {"settings": await _settings(session)}

        return await run_mutation(info.context, CouponSettingsPayload, action)


# -- coupon packs (券包): share-to-get -------------------------------------------------------------
SHARERS = (Caller.CUSTOMER, Caller.LEADER)


class CouponPackRewardStatusEnum(str, Enum):
    PENDING = "PENDING"
    GRANTED = "GRANTED"
    CANCELLED = "CANCELLED"
    NOT_FIRST = "NOT_FIRST"


CouponPackRewardStatus = strawberry.enum(CouponPackRewardStatusEnum, name="CouponPackRewardStatus",
                                         description="Where a share-to-get reward is.")
describe_values(CouponPackRewardStatus, {
    "PENDING": "The friend's first order came through the pack's code and is not paid yet.",
    "GRANTED": "The order was paid: the coupons were granted (as many as the templates had left).",
    "CANCELLED": "The order was cancelled before payment: nothing is granted.",
    "NOT_FIRST": "Another first order of the friend was rewarded before: nothing is granted.",
})


@strawberry.type(name="CouponPack", description="A coupon pack (券包): a customer shares it, and a friend's first "
                 "order through the share code gives the friend and the sharer their coupons once it is paid.")
class CouponPack(Node):
    id: strawberry.ID = strawberry.field(description="The pack's global ID.")
    name: str = strawberry.field(description="The name customers see.")
    active: bool = strawberry.field(description="Shareable now: not ended.")
    ended_at: datetime | None = strawberry.field(description="When it was ended; null while not.")
    created_at: datetime = strawberry.field(description="When it was created.")
    row: strawberry.Private[Any]

    @classmethod
    def of(cls, row: Any) -> CouponPack:
        return cls(id=strawberry.ID(global_id.encode("CouponPack", row.id)), name=row.name,
                   active=row.ended_at is None, ended_at=row.ended_at, created_at=row.created_at, row=row)

    @strawberry.field(description="What the friend gets: one coupon of each.")
    async def friend_templates(self, info: Info) -> list[CouponTemplate]:
        rows = await get_loader(info.context, TemplateByIdLoader).load_many(list(self.row.friend_template_ids))
        return [CouponTemplate.of(r) for r in rows if r is not None]

    @strawberry.field(description="What the sharer gets per rewarded friend: one coupon of each, within each "
                                  "template's per-customer limit.")
    async def sharer_templates(self, info: Info) -> list[CouponTemplate]:
        rows = await get_loader(info.context, TemplateByIdLoader).load_many(list(self.row.sharer_template_ids))
        return [CouponTemplate.of(r) for r in rows if r is not None]


class PackByIdLoader(KeyedLoader):
    fetch = staticmethod(packs.packs_by_ids)
    pass_tenant = True


class RewardByIdLoader(DataLoader[UUID, Any]):
    """A sharer's own rewards; admins see any."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        admin = await is_admin(self.context)
        sharer = None if admin else self.context.principal.user_id
        if sharer is None and not admin:
            return [None for _ in keys]
        async with serial_session(self.context) as session:
            found = await packs.rewards_by_ids(session, tenant_id=self.context.tenant.id, ids=list(keys),
                                               sharer_id=sharer)
        return [found.get(k) for k in keys]


@strawberry.type(name="CouponPackReward", description="A friend's first order through a sharer's coupon pack code, "
                 "and what it gave.")
class CouponPackReward(Node):
    id: strawberry.ID = strawberry.field(description="The reward's global ID.")
    status: CouponPackRewardStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    friend_name: str = strawberry.field(description="The friend's name, masked (张**).")
    friend_coupons: int = strawberry.field(description="Coupons the friend was granted.")
    sharer_coupons: int = strawberry.field(description="Coupons the sharer was granted.")
    created_at: datetime = strawberry.field(description="When the friend's order came through the code.")
    settled_at: datetime | None = strawberry.field(description="When it was granted, cancelled or refused; null "
                                                               "while PENDING.")
    row: strawberry.Private[Any]

    @classmethod
    def of(cls, row: Any) -> CouponPackReward:
        return cls(id=strawberry.ID(global_id.encode("CouponPackReward", row.id)),
                   status=CouponPackRewardStatusEnum(row.status), friend_name=mask_name(row.friend_name),
                   friend_coupons=row.friend_coupons, sharer_coupons=row.sharer_coupons, created_at=row.created_at,
                   settled_at=row.settled_at, row=row)

    @strawberry.field(description="The pack shared.")
    async def pack(self, info: Info) -> CouponPack:
        return CouponPack.of(await get_loader(info.context, PackByIdLoader).load(self.row.pack_id))

    @strawberry.field(description="The coupons the sharer was granted for this friend.")
    async def earned(self, info: Info) -> list[Coupon]:
        async with serial_session(info.context) as session:
            rows = await packs.coupons_of_reward(session, tenant_id=info.context.tenant.id, reward_id=self.row.id,
                                                 customer_id=self.row.sharer_id)
        return [Coupon.of(r) for r in rows]


@node_loader("CouponPack")
async def _load_pack_node(context: Context, id: UUID) -> CouponPack | None:
    row = await get_loader(context, PackByIdLoader).load(id)
    return CouponPack.of(row) if row else None


@node_loader("CouponPackReward")
async def _load_reward_node(context: Context, id: UUID) -> CouponPackReward | None:
    row = await get_loader(context, RewardByIdLoader).load(id)
    return CouponPackReward.of(row) if row else None


@strawberry.type(name="CouponPackEarnings", description="What the caller's coupon pack shares earned.")
class CouponPackEarnings:
    pending: int = strawberry.field(description="Friends whose first order is not paid yet.")
    rewarded: int = strawberry.field(description="Friends whose paid first order rewarded the caller.")
    coupons: int = strawberry.field(description="Coupons the caller was granted for them.")


@strawberry.input(description="A new coupon pack.")
class CouponPackInput:
    name: str = strawberry.field(description="The name customers see, 1 to 100 characters.")
    friend_template_ids: list[strawberry.ID] = strawberry.field(description="Templates the friend gets one coupon "
                                                                            "of each: 1 to 10, not ended.")
    sharer_template_ids: list[strawberry.ID] = strawberry.field(description="Templates the sharer gets one coupon "
                                                                            "of each per rewarded friend: 1 to 10.")


@strawberry.type(description="The result of couponPackCreate and couponPackEnd.")
class CouponPackPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    pack: CouponPack | None = strawberry.field(default=None, description="The pack; null when refused.")


@strawberry.type(description="The result of couponPackShare.")
class CouponPackSharePayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    share: ShareCode | None = strawberry.field(default=None, description="The caller's share link for the pack: "
                                                                         "friends order with its code (shareCode).")


@strawberry.type
class CouponPacksQuery:
    @strawberry.field(description="Coupon packs, oldest first (customers share the active ones).")
    @requires(USERS, ADMINS)
    async def coupon_packs(
        self, info: Info,
        active: Annotated[bool | None, strawberry.argument(description="true: only shareable ones; false: only "
                                                                        "ended ones; null: all.")] = None,
        first: PAGE_FIRST = 20, after: PAGE_AFTER = None,
    ) -> Connection[CouponPack]:
        size = check_page(first, after)
        async with serial_session(info.context) as session:
            page = await packs.list_packs(session, tenant_id=info.context.tenant.id, active=active, first=size,
                                          after=after)
        return Connection.of(page, CouponPack.of)

    @strawberry.field(description="The signed-in sharer's coupon pack rewards: one per friend whose first order "
                                  "came through their code, oldest first.")
    @requires(*SHARERS)
    async def my_coupon_pack_rewards(self, info: Info, first: PAGE_FIRST = 20, after: PAGE_AFTER = None
                                     ) -> Connection[CouponPackReward]:
        size = check_page(first, after)
        sharer = await info.context.require_user()
        async with serial_session(info.context) as session:
            page = await packs.my_rewards(session, tenant_id=info.context.tenant.id, sharer_id=sharer, first=size,
                                          after=after)
        return Connection.of(page, CouponPackReward.of)

    @strawberry.field(description="What the signed-in sharer's coupon pack shares earned, in sum.")
    @requires(*SHARERS)
    async def my_coupon_pack_earnings(self, info: Info) -> CouponPackEarnings:
        sharer = await info.context.require_user()
        async with serial_session(info.context) as session:
            row = await packs.earned_totals(session, tenant_id=info.context.tenant.id, sharer_id=sharer)
        return CouponPackEarnings(pending=row.pending, rewarded=row.rewarded, coupons=row.coupons)


@strawberry.type
class CouponPacksMutation:
    @strawberry.mutation(description="Creates a coupon pack, shareable at once.")
    @requires(ADMINS)
    async def coupon_pack_create(
        self, info: Info, input: Annotated[CouponPackInput, strawberry.argument(description="The pack.")],
    ) -> CouponPackPayload:
        context = info.context

        async def action(session: Any) -> dict:
            row = await packs.create_pack(
                session, tenant_id=context.tenant.id, name=input.name,
                friend_template_ids=[decode(i, "CouponTemplate") for i in input.friend_template_ids],
                sharer_template_ids=[decode(i, "CouponTemplate") for i in input.sharer_template_ids])
            return {"pack": CouponPack.of(row)}

        return await run_mutation(context, CouponPackPayload, action)

    @strawberry.mutation(description="Ends a coupon pack: its code notes no new rewards; orders already noted are "
                                      "still rewarded when paid.")
    @requires(ADMINS)
    async def coupon_pack_end(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The pack's global ID.")],
    ) -> CouponPackPayload:
        async def action(session: Any) -> dict:
            return {"pack": CouponPack.of(await packs.end_pack(session, tenant_id=info.context.tenant.id,
                                                               pack_id=decode(id, "CouponPack")))}

        return await run_mutation(info.context, CouponPackPayload, action)

    @strawberry.mutation(description="Customers and leaders: their share link for a coupon pack (the same one when "
                                      "shared again). A friend's first order with its code (OrderPlaceInput."
                                      "shareCode) gives both their coupons once it is paid.")
    @requires(*SHARERS)
    async def coupon_pack_share(
        self, info: Info,
        pack_id: Annotated[strawberry.ID, strawberry.argument(description="The pack's global ID.")],
    ) -> CouponPackSharePayload:
        context = info.context

        async def action(session: Any) -> dict:
            share = await packs.share(session, tenant_id=context.tenant.id, sharer_id=await context.require_user(),
                                      pack_id=decode(pack_id, "CouponPack"))
            return {"share": ShareCode.of(context, share)}

        return await run_mutation(context, CouponPackSharePayload, action)


@strawberry.type
class CouponsQuery(CouponTemplatesQuery, CouponPacksQuery):
    """Templates, coupons, the report, and coupon packs."""


@strawberry.type
class CouponsMutation(CouponTemplatesMutation, CouponPacksMutation):
    """Templates, claims, grants, settings, and coupon packs."""
