"""Social growth: share links and posters, referrals, distributors' commissions, per-sharer report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.errors import Collector, ErrorCode, FieldError, UserErrors, fail
from service.growth import links, queries
from service.growth.exports import signed_path
from service.growth.links import ShareTarget
from service.growth.poster import poster_path
from service.growth.queries import Earning
from service.i18n import msg
from service.reports.queries import check_period
from service.schema.access import Caller, admins, check_page, decode, public, query_error, requires, serial_session
from service.schema.common import Money, Node, UserError, describe_values
from service.schema.context import Context
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.pagination import Connection
from service.tenants.principal import TenantInfo
from service.validation import money_value, rate_value

Info = strawberry.Info[Context, None]
DISTRIBUTOR = (Caller.CUSTOMER, Caller.LEADER)
MAX_OFFER_DISTRIBUTION_TOTAL = Decimal("0.3")

ShareTargetEnum = strawberry.enum(ShareTarget, name="ShareTarget", description="What a share link opens.")
describe_values(ShareTargetEnum, {
    "BATCH": "A batch (its offers).",
    "OFFER": "One offer of a batch.",
    "COMMUNITY_GROUP": "A leader's community group: its invite page.",
    "GROUP_BUY": "A 拼团 group to join.",
    "COUPON_PACK": "A coupon pack (券包): the friend's first order through it gives both their coupons.",
})
# The global ID type of each target.
TARGET_TYPES = {ShareTarget.BATCH: "Batch", ShareTarget.OFFER: "Offer",
                ShareTarget.COMMUNITY_GROUP: "CommunityGroup", ShareTarget.GROUP_BUY: "GroupBuy",
                ShareTarget.COUPON_PACK: "CouponPack"}


@strawberry.type(name="ShareCode", description="A share link: what was shared, by whom (their public name), "
                                               "and the URL into the brand's front end.")
class ShareCode:
    code: str = strawberry.field(description="The share code: random (96 bits), it reveals nothing about the "
                                             "sharer.")
    target: ShareTarget = strawberry.field(description="What kind of thing was shared.")
    target_id: strawberry.ID = strawberry.field(description="The global ID of what was shared.")
    sharer_name: str = strawberry.field(description="The sharer's public display name (never a phone number).")
    url: str = strawberry.field(description="The link to open: the tenant's front-end URL template with "
                                            "`share=<code>`, else the reference storefront.")

    @classmethod
    def of(cls, context: Context, share: links.Share) -> ShareCode:
        return cls(code=share.code, target=share.target,
                   target_id=strawberry.ID(global_id.encode(TARGET_TYPES[share.target], share.target_id)),
                   sharer_name=share.sharer_name,
                   url=links.url_of(context.tenant, share, str(context.request.base_url)))


@strawberry.type(description="The result of shareLinkCreate.")
class ShareLinkPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    share: ShareCode | None = strawberry.field(default=None, description="The link; null when refused.")
    poster_url: str | None = strawberry.field(default=None, description="The share poster (PNG) of a batch, offer, "
                                              "community group or 拼团: brand, title (a 拼团's group size first), "
                                              "pickup point, three offers with prices (a 拼团's offer first), cutoff "
                                              "and the link's QR code.")


@strawberry.type(description="The result of shareVisit.")
class ShareVisitPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    share: ShareCode | None = strawberry.field(default=None, description="What the code opens; null when refused.")


@strawberry.type(name="Referral", description="A customer bound to the caller, directly (level 1) or through "
                                              "one of the caller's referrals (level 2).")
class Referral(Node):
    id: strawberry.ID = strawberry.field(description="The referral's global ID.")
    customer_name: str = strawberry.field(description="The customer's name, masked (张**).")
    bound_at: datetime = strawberry.field(description="When the customer was bound.")
    level: int = strawberry.field(description="1: referred by the caller; 2: by one of the caller's referrals.")
    orders: int = strawberry.field(description="Their confirmed orders that name the caller at this level (with "
                                               "distribution on or off).")
    gmv: Money = strawberry.field(description="Those orders' goods value (active lines).")
    commission: Money = strawberry.field(description="What those orders pay the caller (after reversals).")

    @classmethod
    def of(cls, r: queries.Referral, currency: str) -> Referral:
        return cls(id=strawberry.ID(global_id.encode("Referral", r.id)), customer_name=r.customer_name,
                   bound_at=r.bound_at, level=r.level, orders=r.orders, gmv=Money.of(r.gmv_minor, currency),
                   commission=Money.of(r.commission_minor, currency))


@strawberry.type(name="DistributionCommission", description="A distributor's commission on one order: level 1 "
                 "(the buyer's referrer) or 2 (that referrer's referrer). Pending at the close, earned at "
                 "pickup, reversed by refunds.")
class DistributionCommission(Node):
    id: strawberry.ID = strawberry.field(description="The commission's global ID.")
    level: int = strawberry.field(description="1 or 2: there is no third level.")
    status: str = strawberry.field(description="PENDING, EARNED or REVERSED.")
    amount: Money = strawberry.field(description="What it pays now (after reversals).")
    reversed_amount: Money = strawberry.field(description="What refunds took back.")
    goods_value: Money = strawberry.field(description="The value of the order's lines it was computed on.")
    order_number: str = strawberry.field(description="The order's number.")
    order_id: strawberry.ID = strawberry.field(description="The order's global ID (readable by its customer and "
                                                           "admins).")
    beneficiary_name: str = strawberry.field(description="The distributor it is paid to.")
    created_at: datetime = strawberry.field(description="When the close recorded it.")
    earned_at: datetime | None = strawberry.field(description="When the order was picked up; null before.")
    reversed_at: datetime | None = strawberry.field(description="When a refund reversed it; null otherwise.")

    @classmethod
    def of(cls, e: Earning) -> DistributionCommission:
        return cls(id=strawberry.ID(global_id.encode("DistributionCommission", e.id)), level=e.level,
                   status=e.status, amount=Money.of(e.amount_minor, e.currency),
                   reversed_amount=Money.of(e.reversed_minor, e.currency),
                   goods_value=Money.of(e.goods_minor, e.currency), order_number=e.order_number,
                   order_id=strawberry.ID(global_id.encode("Order", e.order_id)),
                   beneficiary_name=e.beneficiary_name, created_at=e.created_at, earned_at=e.earned_at,
                   reversed_at=e.reversed_at)


@strawberry.type(description="A distributor's commissions in total.")
class DistributionEarnings:
    pending: Money = strawberry.field(description="Orders closed, not picked up yet.")
    earned: Money = strawberry.field(description="Orders picked up (after reversals).")
    reversed: Money = strawberry.field(description="What refunds took back.")


@strawberry.input(description="An offer's distribution: rates (fractions) or fixed amounts per unit per level; "
                               "a field left out or null uses the tenant's rate.")
class OfferDistributionInput:
    level1_rate: Decimal | None = strawberry.field(default=None, description="Level 1's rate, e.g. \"0.05\".")
    level2_rate: Decimal | None = strawberry.field(default=None, description="Level 2's rate; with level 1 at "
                                                                           "most 0.3.")
    level1_amount: Decimal | None = strawberry.field(default=None, description="A fixed amount per unit for level "
                                                     "1, replacing its rate.")
    level2_amount: Decimal | None = strawberry.field(default=None, description="A fixed amount per unit for level "
                                                     "2, replacing its rate.")


@strawberry.type(description="The result of offerDistributionSet.")
class OfferDistributionPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    offer_id: strawberry.ID | None = strawberry.field(default=None, description="The offer changed.")


@strawberry.type(description="Whether 拼团 and coupon orders earn distribution commission.")
class DistributionSettings:
    group_buy_orders: bool = strawberry.field(description="Orders of a 拼团 group earn it.")
    coupon_orders: bool = strawberry.field(description="Orders with a coupon earn it.")


@strawberry.type(description="The result of distributionSettingsUpdate.")
class DistributionSettingsPayload:
    errors: list[UserError] = strawberry.field(description="Why it was refused; empty on success.")
    settings: DistributionSettings | None = strawberry.field(default=None, description="The settings now.")


@strawberry.type(description="One sharer's results in the period.")
class SharerReportRow:
    sharer_id: strawberry.ID = strawberry.field(description="The sharer's User ID.")
    name: str = strawberry.field(description="The sharer's display name.")
    visits: int = strawberry.field(description="Openings of their share links.")
    bindings: int = strawberry.field(description="Customers bound to them.")
    orders: int = strawberry.field(description="Confirmed orders they brought, placed in the period: orders whose "
                                               "level-1 referrer they are (counted with distribution on or off).")
    gmv: Money = strawberry.field(description="Those orders' goods value (active lines).")
    commission: Money = strawberry.field(description="Their distribution commission recorded in the period, both "
                                                     "levels (after reversals).")


@strawberry.type(description="Per-sharer results: visits, bindings, orders, GMV and commission.")
class SharerReport:
    rows: list[SharerReportRow] = strawberry.field(description="One row per sharer, by GMV.")
    csv_url: str = strawberry.field(description="The same rows as CSV (UTF-8 with a BOM): a signed link, valid "
                                                "for a day.")


@strawberry.type(description="What a community group's invite page shows: the group, its leader and their "
                             "pickup point, and the link into the brand's front end.")
class InvitePage:
    group_name: str = strawberry.field(description="The community group's name.")
    leader_name: str = strawberry.field(description="Its leader's display name.")
    point_name: str | None = strawberry.field(description="The leader's pickup point, null when none is active.")
    point_address: str | None = strawberry.field(description="That point's address.")
    opening_hours: str | None = strawberry.field(description="That point's opening hours.")
    front_end_url: str = strawberry.field(description="Where to shop: the tenant's front-end URL template (with "
                                                      "{groupCode} and {leaderId} filled), else the storefront.")


async def _caller(context: Context) -> UUID:
    user_id = context.principal.user_id
    if user_id is None:
        raise fail(ErrorCode.FORBIDDEN, "Sign in first.")
    return user_id


@node_loader("Referral")
async def _load_referral(context: Context, id: UUID) -> Referral | None:
    user_id = context.principal.user_id
    if context.principal.tenant is None or user_id is None:
        return None
    async with serial_session(context) as session:
        found = await queries.referral_by_id(session, tenant_id=context.tenant.id, referrer_id=user_id,
                                             binding_id=id)
    return Referral.of(found, context.tenant.currency) if found else None


@strawberry.type
class GrowthQuery:
    @strawberry.field(description="Anyone with X-Tenant: what a share code opens and who shared it; null for "
                      "a code not of this tenant.")
    @public
    async def share_code(
        self, info: Info,
        code: Annotated[str, strawberry.argument(description="The code from a share link.")],
    ) -> ShareCode | None:
        context = info.context
        async with serial_session(context) as session:
            share = await links.by_code(session, tenant_id=context.tenant.id, code=code)
        return ShareCode.of(context, share) if share else None

    @strawberry.field(description="Anyone with X-Tenant: a community group's invite page by its invite code; null "
                      "for a code not of this tenant.")
    @public
    async def invite_page(
        self, info: Info,
        invite_code: Annotated[str, strawberry.argument(description="The code from the group's invite link.")],
    ) -> InvitePage | None:
        context = info.context
        async with serial_session(context) as session:
            row = (await session.execute(text(
                "SELECT g.name, l.id AS leader_id, l.display_name, p.name AS point, p.address, p.opening_hours "
                "FROM community_group g JOIN leader l ON l.tenant_id = g.tenant_id AND l.id = g.leader_id "
                "LEFT JOIN LATERAL (SELECT * FROM pickup_point p WHERE p.tenant_id = :t "
                "AND p.leader_id = l.id AND p.active ORDER BY p.created_at, p.id LIMIT 1) p ON true "
                "WHERE g.tenant_id = :t AND g.invite_code = :c"),
                {"t": context.tenant.id, "c": invite_code[:16]})).first()
        if row is None:
            return None
        return InvitePage(group_name=row.name, leader_name=links.public_name(row.display_name),
                          point_name=row.point, point_address=row.address, opening_hours=row.opening_hours,
                          front_end_url=links.front_end_url(context.tenant, str(context.request.base_url),
                                                            group_code=invite_code[:16],
                                                            leader_id=global_id.encode("Leader", row.leader_id)))

    @strawberry.field(description="Distributors and leaders: the customers bound to them (level 1) and to "
                      "their referrals (level 2), names masked, oldest first.")
    @requires(*DISTRIBUTOR)
    async def my_referrals(
        self, info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")] = None,
    ) -> Connection[Referral]:
        context = info.context
        size = check_page(first, after)
        async with serial_session(context) as session:
            page = await queries.referrals(session, tenant_id=context.tenant.id,
                                           referrer_id=await _caller(context), first=size, after=after)
        currency = context.tenant.currency
        return Connection.of(page, lambda r: Referral.of(r, currency))

    @strawberry.field(description="Distributors and leaders: their distribution commissions, oldest first, with "
                      "the orders they are paid on.")
    @requires(*DISTRIBUTOR)
    async def my_distribution_commissions(
        self, info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100.")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page.")] = None,
    ) -> Connection[DistributionCommission]:
        context = info.context
        size = check_page(first, after)
        async with serial_session(context) as session:
            page = await queries.earnings(session, tenant_id=context.tenant.id,
                                          beneficiary_id=await _caller(context), first=size, after=after)
        return Connection.of(page, DistributionCommission.of)

    @strawberry.field(description="Distributors and leaders: their distribution commissions in total.")
    @requires(*DISTRIBUTOR)
    async def my_distribution_earnings(self, info: Info) -> DistributionEarnings:
        context = info.context
        async with serial_session(context) as session:
            s = await queries.earnings_summary(session, tenant_id=context.tenant.id,
                                               beneficiary_id=await _caller(context))
        currency = context.tenant.currency
        return DistributionEarnings(pending=Money.of(s.pending_minor, currency),
                                    earned=Money.of(s.earned_minor, currency),
                                    reversed=Money.of(s.reversed_minor, currency))

    @strawberry.field(description="Admins: per sharer, visits, bindings, orders, GMV and distribution "
                      "commission over a period of the tenant's local dates.")
    @admins
    async def sharer_report(
        self, info: Info,
        day_from: Annotated[date, strawberry.argument(name="from", description="A local date.")],
        day_to: Annotated[date, strawberry.argument(name="to", description="Inclusive: at most 366 days after "
                                                                          "from.")],
    ) -> SharerReport:
        context = info.context
        try:
            check_period(day_from, day_to)
        except UserErrors as e:  # about this field's arguments, not an input object's
            raise query_error(UserErrors([FieldError(err.code, err.message, list(err.field or [])[-1:])
                                          for err in e.errors])) from None
        async with serial_session(context) as session:
            rows = await queries.sharer_report(session, tenant_id=context.tenant.id, day_from=day_from,
                                               day_to=day_to)
        currency = context.tenant.currency
        base = str(context.request.base_url).rstrip("/")
        return SharerReport(
            rows=[SharerReportRow(sharer_id=strawberry.ID(global_id.encode("User", r.sharer_id)), name=r.name,
                                  visits=r.visits, bindings=r.bindings, orders=r.orders,
                                  gmv=Money.of(r.gmv_minor, currency),
                                  commission=Money.of(r.commission_minor, currency)) for r in rows],
            csv_url=base + signed_path(context.tenant.id, day_from, day_to),
        )

    @strawberry.field(description="Admins: whether 拼团 and coupon orders earn distribution commission.")
    @admins
    async def distribution_settings(self, info: Info) -> DistributionSettings:
        context = info.context
        async with serial_session(context) as session:
            row = (await session.execute(text(
                "SELECT distribution_group_buy_orders AS g, distribution_coupon_orders AS c FROM tenant "
                "WHERE id = :t"), {"t": context.tenant.id})).one()
        return DistributionSettings(group_buy_orders=row.g, coupon_orders=row.c)


@strawberry.type
class GrowthMutation:
    @strawberry.mutation(description="Leaders and customers: their share link (and poster) for a batch, offer, "
                         "community group or 拼团; the same link when shared again.")
    @requires(*DISTRIBUTOR)
    async def share_link_create(
        self, info: Info,
        target: Annotated[ShareTarget, strawberry.argument(description="What kind of thing is shared.")],
        target_id: Annotated[strawberry.ID, strawberry.argument(description="Its global ID.")],
    ) -> ShareLinkPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            share = await links.create_link(
                session, tenant_id=context.tenant.id, sharer_id=await _caller(context),
                target=target, target_id=decode(target_id, TARGET_TYPES[target]))
            poster = str(context.request.base_url).rstrip("/") + poster_path(context.tenant.slug, share.code)
            return {"share": ShareCode.of(context, share), "poster_url": poster}

        return await run_mutation(context, ShareLinkPayload, action)

    @strawberry.mutation(description="Anyone with X-Tenant: records a visit of a share code. A signed-in customer "
                         "who registered within the attribution window is bound to the sharer. Visits of one code "
                         "from one client address are limited per window (RATE_LIMITED).")
    @public
    async def share_visit(
        self, info: Info,
        code: Annotated[str, strawberry.argument(description="The code from a share link.")],
    ) -> ShareVisitPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            share = await links.record_visit(session, tenant_id=context.tenant.id, code=code,
                                             visitor_id=context.principal.user_id,
                                             address=context.client_address)
            return {"share": ShareCode.of(context, share)}

        return await run_mutation(context, ShareVisitPayload, action)

    @strawberry.mutation(description="Admins: an offer's distribution rates or fixed amounts per unit, replacing "
                         "the tenant's rates for its lines.")
    @admins
    async def offer_distribution_set(
        self, info: Info,
        offer_id: Annotated[strawberry.ID, strawberry.argument(description="The offer's global ID.")],
        input: Annotated[OfferDistributionInput, strawberry.argument(description="Rates or amounts per level.")],
    ) -> OfferDistributionPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            offer = decode(offer_id, "Offer")
            found = offer is not None and (await session.execute(
                text("SELECT 1 FROM offer WHERE tenant_id = :t AND id = :o"),
                {"t": context.tenant.id, "o": offer})).first() is not None
            if not found:
                raise fail(ErrorCode.NOT_FOUND, "No such offer.", ["offerId"])
            values = offer_distribution_values(input, context.tenant.currency)
            await queries.set_offer_distribution(session, tenant_id=context.tenant.id, offer_id=offer,  # type: ignore[arg-type]  # offer is not None: checked above
                                                 values=values)
            return {"offer_id": offer_id}

        return await run_mutation(context, OfferDistributionPayload, action)

    @strawberry.mutation(description="Admins: whether 拼团 and coupon orders earn distribution commission "
                         "(a field left out stays as it is).")
    @admins
    async def distribution_settings_update(
        self, info: Info,
        group_buy_orders: Annotated[bool | None, strawberry.argument(description="拼团 orders earn it.")] = None,
        coupon_orders: Annotated[bool | None, strawberry.argument(description="Coupon orders earn it.")] = None,
    ) -> DistributionSettingsPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = (await session.execute(text(
                "UPDATE tenant SET distribution_group_buy_orders = coalesce(:g, distribution_group_buy_orders), "
                "distribution_coupon_orders = coalesce(:c, distribution_coupon_orders) WHERE id = :t "
                "RETURNING distribution_group_buy_orders AS g, distribution_coupon_orders AS c"),
                {"t": context.tenant.id, "g": group_buy_orders, "c": coupon_orders})).one()
            return {"settings": DistributionSettings(group_buy_orders=row.g, coupon_orders=row.c)}

        return await run_mutation(context, DistributionSettingsPayload, action)


def offer_distribution_values(input: OfferDistributionInput, currency: str) -> dict[str, object]:
    """The input checked: rates in [0, 0.3] together, amounts in the currency; raises UserErrors."""
    errors = Collector()
    r1 = rate_value(errors, input.level1_rate, ["input", "level1Rate"], maximum=MAX_OFFER_DISTRIBUTION_TOTAL)
    r2 = rate_value(errors, input.level2_rate, ["input", "level2Rate"], maximum=MAX_OFFER_DISTRIBUTION_TOTAL)
    a1 = money_value(errors, input.level1_amount, ["input", "level1Amount"], currency=currency)
    a2 = money_value(errors, input.level2_amount, ["input", "level2Amount"], currency=currency)
    if r1 is not None and r2 is not None and r1 + r2 > MAX_OFFER_DISTRIBUTION_TOTAL:
        errors.add(ErrorCode.INVALID, msg("growth.rates_total", max=MAX_OFFER_DISTRIBUTION_TOTAL),
                   ["input", "level2Rate"])
    errors.raise_if_any()
    return {"r1": r1, "r2": r2, "a1": a1, "a2": a2}



async def offer_rates(session: AsyncSession, tenant: TenantInfo, offer_id: UUID, input: object,
                      field: list[str]) -> None:
    """OfferInput / OfferUpdateInput's distributionLevel1Rate / Level2Rate: a rate given replaces
    the offer's; one left out keeps it (fixed amounts stay as offerDistributionSet set them)."""
    r1_in = getattr(input, "distribution_level1_rate", None)
    r2_in = getattr(input, "distribution_level2_rate", None)
    if r1_in is None and r2_in is None:
        return
    errors = Collector()
    r1 = rate_value(errors, r1_in, [*field, "distributionLevel1Rate"], maximum=MAX_OFFER_DISTRIBUTION_TOTAL)
    r2 = rate_value(errors, r2_in, [*field, "distributionLevel2Rate"], maximum=MAX_OFFER_DISTRIBUTION_TOTAL)
    errors.raise_if_any()
    try:
        async with session.begin_nested():
            await session.execute(text(
                "INSERT INTO offer_distribution (tenant_id, offer_id, level1_rate, level2_rate) "
                "VALUES (:t, :o, :r1, :r2) ON CONFLICT (tenant_id, offer_id) DO UPDATE SET "
                "level1_rate = coalesce(:r1, offer_distribution.level1_rate), "
                "level2_rate = coalesce(:r2, offer_distribution.level2_rate)"),
                {"t": tenant.id, "o": offer_id, "r1": r1, "r2": r2})
    except IntegrityError:
        raise fail(ErrorCode.INVALID, msg("accounts.distribution_total", max=MAX_OFFER_DISTRIBUTION_TOTAL),
                   [*field, "distributionLevel2Rate"]) from None


async def offer_rates_for_batch(session: AsyncSession, tenant: TenantInfo, batch_id: UUID,
                                offers: Sequence[object]) -> None:
    """batchCreate's offers: each one's rates, found by its product."""
    for n, spec in enumerate(offers):
        if getattr(spec, "distribution_level1_rate", None) is None and getattr(
                spec, "distribution_level2_rate", None) is None:
            continue
        offer_id = (await session.execute(text(
            "SELECT id FROM offer WHERE tenant_id = :t AND batch_id = :b AND product_id = :p"),
            {"t": tenant.id, "b": batch_id, "p": decode(getattr(spec, "product_id", None), "Product")})).scalar()
        if offer_id is not None:
            await offer_rates(session, tenant, offer_id, spec, ["input", "offers", str(n)])
