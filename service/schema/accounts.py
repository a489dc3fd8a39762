"""Tenants, the viewer, sign-up, sign-in and API keys."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.accounts import languages, operations
from service.accounts.models import ApiKey as ApiKeyRow
from service.accounts.models import PaymentMode as PaymentModeEnum
from service.accounts.models import ReferralBinding as ReferralBindingEnum
from service.accounts.models import Role as RoleEnum
from service.accounts.models import ShortagePolicy as ShortagePolicyEnum
from service.accounts.roles import load_roles
from service.aftersales.compensation import Policy, tenant_policy
from service.db import set_tenant
from service.errors import ErrorCode, fail
from service.growth import links
from service.i18n import parse_accept_language
from service.schema.access import (
    Caller,
    KeyedLoader,
    admins,
    check_page,
    decode,
    get_loader,
    is_admin,
    public,
    requires,
    serial_session,
    signed_in,
)
from service.schema.catalog import viewer_supplier
from service.schema.common import Money, Node, UserError, describe_values, rate_text
from service.schema.compensation import CompensationMode
from service.schema.context import Context
from service.schema.leaders import viewer_leader
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.pagination import Connection
from service.tenants.principal import TenantInfo
from service.tenants.resolution import forget_tenant, tenant_info

if TYPE_CHECKING:
    from service.schema.catalog import Supplier
    from service.schema.leaders import Leader

Info = strawberry.Info[Context, None]
strawberry.enum(ShortagePolicyEnum, name="ShortagePolicy",
                description="Who goes without when a supplier delivers less than was ordered.")
describe_values(ShortagePolicyEnum, {
    "LAST_ORDERED_FIRST": "The orders placed last lose their units first; earlier orders are served in full.",
    "PRO_RATA": "Every order of the offer loses its share of the shortage.",
    "PER_POINT": "The supplier's per-point quantities decide where the shortage falls; within a point, and "
                 "for products shipped short without them, the latest orders lose first.",
})
strawberry.enum(ReferralBindingEnum, name="ReferralBinding",
                description="Which referrer a customer's orders are attributed to.")
describe_values(ReferralBindingEnum, {
    "FIRST": "The first referrer the customer came through keeps them.",
    "LATEST": "The most recent referrer, within the attribution window, takes them over.",
})
# The GraphQL enums PaymentMode and Role are PaymentModeEnum and RoleEnum themselves
# (strawberry.enum keeps the class): fields name the classes, which type checkers understand.


@strawberry.type(description="A brand using the service: everything else belongs to one tenant.")
class Tenant(Node):
    id: strawberry.ID = strawberry.field(description="The tenant's global ID.")
    slug: str = strawberry.field(description="The short name sent in X-Tenant.")
    name: str = strawberry.field(description="The brand's name.")
    timezone: str = strawberry.field(description="Its IANA time zone (e.g. Asia/Shanghai): pickup dates and cutoffs "
                                                 "are meant there.")
    currency: str = strawberry.field(description="Its ISO 4217 currency.")
    payment_mode: PaymentModeEnum = strawberry.field(description="How its customers pay.")
    default_commission_rate: Decimal = strawberry.field(description="The rate a leader is approved with unless told "
                                                                    "otherwise, a fraction.")
    payment_window_minutes: int = strawberry.field(description="How long a PREPAID order may wait for payment before "
                                                               "it is cancelled.")
    pickup_window_days: int = strawberry.field(description="Days after a batch's pickup date that customers "
                                                           "may still collect (1 to 60).")
    commission_freeze_days: int = strawberry.field(description="Days a leader's commission stays frozen after "
                                                               "pickup before it can be withdrawn (0 to 90).")
    after_sales_window_hours: int = strawberry.field(description="Hours after pickup that a customer may ask for "
                                                                 "a refund or a return (0 to 720).")
    shortage_policy: ShortagePolicyEnum = strawberry.field(description="Who goes without when a supplier "
                                                                       "delivers short.")
    withdrawal_minimum: Money = strawberry.field(description="The smallest amount a leader may withdraw.")
    withdrawal_fee_rate: Decimal = strawberry.field(description="The fee kept from a withdrawal, a fraction "
                                                                "(at most 0.2).")
    front_end_url_template: str | None = strawberry.field(
        description="Where the brand's front end shows an object: an https URL with placeholders "
        + ", ".join(operations.URL_PLACEHOLDERS) + "."
    )
    distribution_enabled: bool = strawberry.field(description="Whether referrers earn distribution "
                                                              "commission on the orders they bring.")
    distribution_level1_rate: Decimal = strawberry.field(description="The direct referrer's commission, a "
                                                                     "fraction of the line value.")
    distribution_level2_rate: Decimal = strawberry.field(description="The referrer's own referrer's commission, "
                                                                     "a fraction; the two rates together are at "
                                                                     "most 0.3.")
    referral_binding: ReferralBindingEnum = strawberry.field(description="Which referrer a customer's orders "
                                                                         "are attributed to.")
    attribution_window_days: int = strawberry.field(description="How many days a referral keeps attributing a "
                                                                "customer's orders (1 to 365).")

    @strawberry.field(description="How shortages, damaged goods and approved after-sales requests are compensated "
                                  "by coupon (tenantUpdate.compensationMode).")
    async def compensation_mode(self, info: Info) -> CompensationMode:  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
        return (await _compensation(info, self.id)).mode

    @strawberry.field(description="The language (zh-CN or en) of messages sent out (e-mail) to recipients who "
                                  "chose none (Viewer.messageLanguage).")
    async def default_language(self, info: Info) -> str:
        async with serial_session(info.context) as session:
            return await languages.tenant_language(session, tenant_id=global_id.decode_as(self.id, "Tenant"))  # type: ignore[arg-type]  # a Tenant's own ID

    @strawberry.field(description="The coupon template compensation coupons come from; null: none set.")
    async def compensation_coupon_template_id(self, info: Info) -> strawberry.ID | None:
        template = (await _compensation(info, self.id)).template_id
        return None if template is None else strawberry.ID(global_id.encode("CouponTemplate", template))

    @classmethod
    def of(cls, t: TenantInfo) -> Tenant:
        return cls(
            id=strawberry.ID(global_id.encode("Tenant", t.id)), slug=t.slug, name=t.name,
            timezone=t.timezone, currency=t.currency, payment_mode=t.payment_mode,
            default_commission_rate=rate_text(t.default_commission_rate),
            payment_window_minutes=t.payment_window_minutes,
            pickup_window_days=t.pickup_window_days, commission_freeze_days=t.commission_freeze_days,
            after_sales_window_hours=t.after_sales_window_hours, shortage_policy=t.shortage_policy,
            withdrawal_minimum=Money.of(t.withdrawal_minimum_minor, t.currency),
            withdrawal_fee_rate=rate_text(t.withdrawal_fee_rate), front_end_url_template=t.front_end_url_template,
            distribution_enabled=t.distribution_enabled, distribution_level1_rate=rate_text(t.distribution_level1_rate),
            distribution_level2_rate=rate_text(t.distribution_level2_rate), referral_binding=t.referral_binding,
            attribution_window_days=t.attribution_window_days,
        )


async def _compensation(info: Info, tenant_gid: str) -> Policy:
    async with serial_session(info.context) as session:
        return await tenant_policy(session, global_id.decode_as(tenant_gid, "Tenant"))  # type: ignore[arg-type]  # a Tenant's own ID


@node_loader("Tenant")
async def _load_tenant(context: Context, id: UUID) -> Tenant | None:
    tenant = context.principal.tenant
    return Tenant.of(tenant) if tenant is not None and tenant.id == id else None


@strawberry.type(description="Who is calling.")
class Viewer:
    user_id: strawberry.ID | None = strawberry.field(description="The caller's user ID; null for API keys, the "
                                                                 "platform token and anonymous callers.")
    display_name: str | None = strawberry.field(description="The caller's display name.")
    roles: list[RoleEnum] = strawberry.field(description="The caller's roles.")
    tenant: Tenant = strawberry.field(description="The tenant of the request.")

    @strawberry.field(description="The caller's leader record (any status), when they applied or lead.")
    async def leader(self, info: Info) -> Annotated[Leader, strawberry.lazy("service.schema.leaders")] | None:
        return await viewer_leader(info.context, self.user_id)

    @strawberry.field(description="Set when the caller is a supplier's staff account.")
    async def supplier(self, info: Info) -> Annotated[Supplier, strawberry.lazy("service.schema.catalog")] | None:
        return await viewer_supplier(info.context, self.user_id)

    @strawberry.field(description="The language (zh-CN or en) messages sent to the caller go out in: their own "
                                  "(messageLanguageSet) or, without one, the tenant's defaultLanguage; null for "
                                  "callers without an account.")
    async def message_language(self, info: Info) -> str | None:
        if self.user_id is None:
            return None
        tenant = info.context.principal.tenant
        assert tenant is not None  # a viewer with an account has a tenant
        async with serial_session(info.context) as session:
            return await languages.message_language(
                session, tenant_id=tenant.id, user_id=global_id.decode_as(self.user_id, "User"))  # type: ignore[arg-type]  # the viewer's own ID


async def signed_viewer(session: AsyncSession, tenant: TenantInfo, user_id: UUID) -> Viewer:
    return await build_viewer(session, tenant, user_id, await load_roles(session, tenant.id, user_id))


async def build_viewer(
    session: AsyncSession, tenant: TenantInfo, user_id: UUID | None, roles: frozenset[RoleEnum]
) -> Viewer:
    display_name = None
    if user_id is not None:
        display_name = (
            await session.execute(text("SELECT display_name FROM app_user WHERE tenant_id = :t AND id = :id"),
                                  {"t": tenant.id, "id": user_id})
        ).scalar_one_or_none()
    return Viewer(
        user_id=strawberry.ID(global_id.encode("User", user_id)) if user_id else None,
        display_name=display_name,
        roles=sorted(roles),
        tenant=Tenant.of(tenant),
    )


async def viewer_of(context: Context) -> Viewer:
    tenant = context.tenant
    roles = context.principal.roles or (await context.roles() if context.principal.user_id else frozenset())
    return await build_viewer(await context.session(), tenant, context.principal.user_id, roles)


def _client_language(context: Context) -> str | None:
    """The language the client asks in, if it names one (Accept-Language)."""
    header = context.request.headers.get("accept-language")
    return parse_accept_language(header) if header and header.strip() else None


def _one_password_per_request(context: Context) -> None:
    """One Argon2 hash per HTTP request (aliases and batches included): each costs ~50 ms of CPU
    and 64 MiB, so one request must not multiply it."""
    state = context.request.state
    if getattr(state, "password_hashed", False):
        raise fail(ErrorCode.RATE_LIMITED, "One sign-in or registration per request; send the others apart.")
    state.password_hashed = True


@strawberry.input(description="A new tenant and its first admin.")
class TenantCreateInput:
    slug: str = strawberry.field(description="The short name for X-Tenant: lower-case letters, digits and hyphens.")
    name: str = strawberry.field(description="The brand's name.")
    admin_email: str = strawberry.field(description="The first admin's login e-mail.")
    admin_password: str = strawberry.field(description="The first admin's password, at least 8 characters.")
    timezone: str = strawberry.field(default="Asia/Shanghai", description="An IANA time zone.")
    currency: str = strawberry.field(default="CNY", description="An ISO 4217 currency.")
    payment_mode: PaymentModeEnum = strawberry.field(default=PaymentModeEnum.PREPAID, description="How customers pay.")
    default_commission_rate: Decimal | None = strawberry.field(
        default=None, description="A fraction in [0, 0.5]; default 0.1.")
    default_language: str = strawberry.field(
        default="zh-CN", description="zh-CN or en: the language of messages sent out to recipients who chose none.")


@strawberry.type(description="The result of tenantCreate.")
class TenantCreatePayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    tenant: Tenant | None = strawberry.field(default=None, description="The new tenant; null when refused.")
    api_key: str | None = strawberry.field(default=None, description="Shown once; stored hashed.")


@strawberry.input(description="A new customer account: a phone number or an e-mail address (at least one) and a "
                              "password.")
class CustomerRegisterInput:
    display_name: str = strawberry.field(description="The name leaders see on orders and pick lists.")
    password: str = strawberry.field(description="At least 8 characters.")
    phone: str | None = strawberry.field(default=None, description="A mobile number, read in the tenant's phone "
                                                                   "region (CN by default) or with a + prefix; "
                                                                   "stored in E.164.")
    email: str | None = strawberry.field(default=None, description="An e-mail address to sign in with.")
    share_code: str | None = strawberry.field(default=None, description="The code of the share link the customer "
                                                                        "came with: they are bound to its sharer "
                                                                        "(referral attribution). An unknown code is "
                                                                        "NOT_FOUND and registers no one.")


@strawberry.input(description="A sign-in.")
class TokenCreateInput:
    login: str = strawberry.field(description="A phone number or an e-mail address.")
    password: str = strawberry.field(description="The password.")


@strawberry.type(description="The result of a sign-in or a registration: a bearer token and who it is for.")
class AuthPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    token: str | None = strawberry.field(default=None, description="The bearer token for the Authorization header, "
                                                                   "bound to this tenant; null when refused. It "
                                                                   "expires after GROUPBUY_TOKEN_TTL_SECONDS (7 days "
                                                                   "by default).")
    viewer: Viewer | None = strawberry.field(default=None, description="Who the token is for; null when refused.")


@strawberry.type(description="The result of apiKeyCreate.")
class ApiKeyCreatePayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    api_key: str | None = strawberry.field(default=None, description="The secret, shown once.")


@strawberry.type(name="ApiKey", description="A key of the tenant's back end, acting as a tenant admin; its "
                                            "secret is shown once, at creation, never again.")
class ApiKey(Node):
    id: strawberry.ID = strawberry.field(description="The key's global ID.")
    name: str = strawberry.field(description="The name given at creation, to tell keys apart.")
    created_at: datetime = strawberry.field(description="When the key was created.")
    last_used_at: datetime | None = strawberry.field(description="To within about a minute.")
    revoked_at: datetime | None = strawberry.field(description="When apiKeyRevoke stopped it; null while it "
                                                              "works.")

    @classmethod
    def of(cls, row: ApiKeyRow) -> ApiKey:
        return cls(
            id=strawberry.ID(global_id.encode("ApiKey", row.id)), name=row.name, created_at=row.created_at,
            last_used_at=row.last_used_at, revoked_at=row.revoked_at,
        )


class ApiKeyByIdLoader(KeyedLoader):
    fetch = staticmethod(operations.api_keys_by_ids)


@node_loader("ApiKey")
async def _load_api_key(context: Context, id: UUID) -> ApiKey | None:
    if not await is_admin(context):
        return None
    row = await get_loader(context, ApiKeyByIdLoader).load(id)
    return ApiKey.of(row) if row is not None else None


@strawberry.type(description="The result of apiKeyRevoke.")
class ApiKeyPayload:
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")
    api_key: ApiKey | None = strawberry.field(default=None, description="The key, now revoked; null on error.")


@strawberry.type(description="The result of tenantUpdate.")
class TenantPayload:
    errors: list[UserError] = strawberry.field(description="Why nothing changed; empty on success.")
    tenant: Tenant | None = strawberry.field(default=None, description="The tenant with its new settings; null "
                                                                       "on error.")


@strawberry.type(description="The result of passwordResetIssue: a code to hand to the user.")
class PasswordResetPayload:
    errors: list[UserError] = strawberry.field(description="Why no code was issued; empty on success.")
    code: str | None = strawberry.field(default=None, description="Shown once; works once, until expiresAt.")
    expires_at: datetime | None = strawberry.field(default=None, description="When the code stops working "
                                                                             "(GROUPBUY_PASSWORD_RESET_TTL_SECONDS "
                                                                             "after issue).")


def _opt(description: str) -> Any:
    return strawberry.field(default=None, description=description)


@strawberry.input(description='The tenant\'s settings to change: only the fields given change; '
                              'frontEndUrlTemplate "" clears it. Nothing is written if any is refused.')
class TenantUpdateInput:
    name: str | None = _opt("The brand's name, up to 200 characters.")
    timezone: str | None = _opt("An IANA time zone, e.g. Asia/Shanghai.")
    default_commission_rate: Decimal | None = _opt("The rate new leaders are approved with, a fraction (0 to 1).")
    payment_window_minutes: int | None = _opt("How long a PREPAID order may wait for payment (1 to 1440).")
    pickup_window_days: int | None = _opt("Days after the pickup date customers may still collect (1 to 60).")
    commission_freeze_days: int | None = _opt("Days a commission stays frozen after pickup (0 to 90).")
    after_sales_window_hours: int | None = _opt("Hours after pickup a refund or return may be asked for "
                                                "(0 to 720).")
    shortage_policy: ShortagePolicyEnum | None = _opt("Who goes without when a supplier delivers short.")
    withdrawal_minimum: Decimal | None = _opt("The smallest withdrawal, a decimal string in the tenant's "
                                              "currency.")
    withdrawal_fee_rate: Decimal | None = _opt("The fee kept from a withdrawal, a fraction (0 to 0.2).")
    front_end_url_template: str | None = _opt("An https URL with placeholders for links to the brand's front "
                                              "end; \"\" clears it.")
    distribution_enabled: bool | None = _opt("Turn distribution commission for referrers on or off.")
    distribution_level1_rate: Decimal | None = _opt("The direct referrer's rate, a fraction; with level 2 at "
                                                    "most 0.3.")
    distribution_level2_rate: Decimal | None = _opt("The second-level referrer's rate, a fraction; with level 1 "
                                                    "at most 0.3.")
    referral_binding: ReferralBindingEnum | None = _opt("Whether the first or the latest referrer keeps a "
                                                        "customer.")
    attribution_window_days: int | None = _opt("How many days a referral attributes orders (1 to 365).")
    withdrawal_fee_fixed: Decimal | None = _opt("A fixed fee added to each withdrawal's rate fee, a decimal "
                                                "string in the tenant's currency.")
    withdrawal_daily_limit: int | None = _opt("How many withdrawals a leader may request per local day (1 to 100).")
    compensation_mode: CompensationMode | None = _opt("How shortages, damaged goods and approved after-sales "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                      "requests are compensated by coupon.")
    compensation_coupon_template_id: strawberry.ID | None = _opt("The coupon template compensation coupons come "
                                                                 "from; \"\" clears it.")
    default_language: str | None = _opt("zh-CN or en: the language of messages sent out to recipients who chose "
                                        "none.")


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="Who is calling, with their roles and tenant.")
    @public
    async def me(self, info: Info) -> Viewer:
        return await viewer_of(info.context)

    @strawberry.field(description="The tenant of the request.")
    @public
    def tenant(self, info: Info) -> Tenant:
        return Tenant.of(info.context.tenant)

    @strawberry.field(description="Admins: the tenant's API keys, revoked ones included; never a secret.")
    @admins
    async def api_keys(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
    ) -> Connection[ApiKey]:
        context = info.context
        size = check_page(first, after)
        async with serial_session(context) as session:
            page = await operations.api_key_page(session, first=size, after=after)
        return Connection.of(page, ApiKey.of)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Platform admin token only: a tenant, its first admin and an API key.")
    @requires(Caller.PLATFORM)
    async def tenant_create(
        self,
        info: Info,
        input: Annotated[TenantCreateInput, strawberry.argument(description="The tenant, its first admin and its "
                                                                            "settings.")],
    ) -> TenantCreatePayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            created = await operations.create_tenant(
                session, slug=input.slug, name=input.name, timezone=input.timezone,
                currency=input.currency, payment_mode=input.payment_mode,
                admin_email=input.admin_email, admin_password=input.admin_password,
                default_language=input.default_language,
                **({"default_commission_rate": input.default_commission_rate}
                   if input.default_commission_rate is not None else {}),
            )
            await set_tenant(session, context.principal.tenant.id if context.principal.tenant else None)
            await session.refresh(created.tenant)  # the settings' server defaults
            return {"tenant": Tenant.of(tenant_info(created.tenant)), "api_key": created.api_key}

        return await run_mutation(context, TenantCreatePayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: a customer account and its token.")
    @public
    async def customer_register(
        self,
        info: Info,
        input: Annotated[CustomerRegisterInput, strawberry.argument(description="The new account.")],
    ) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            signed = await operations.register_customer(
                session, tenant_id=tenant.id, display_name=input.display_name, password=input.password,
                email=input.email, phone=input.phone, address=context.client_address,
                phone_region=tenant.phone_region,
            )
            if input.share_code is not None:
                await links.bind_registered(session, tenant_id=tenant.id, customer_id=signed.user.id,
                                            code=input.share_code)
            await languages.adopt_language(session, tenant_id=tenant.id, user_id=signed.user.id,
                                           language=_client_language(context))
            viewer = await signed_viewer(session, tenant, signed.user.id)
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: sign in with phone or e-mail.")
    @public
    async def token_create(
        self,
        info: Info,
        input: Annotated[TokenCreateInput, strawberry.argument(description="The login and password.")],
    ) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            signed = await operations.sign_in(
                session, tenant_id=tenant.id, login=input.login, password=input.password,
                address=context.client_address, phone_region=tenant.phone_region,
            )
            await languages.adopt_language(session, tenant_id=tenant.id, user_id=signed.user.id,
                                           language=_client_language(context))
            viewer = await signed_viewer(session, tenant, signed.user.id)
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Admins: a new API key for the tenant's back end, shown once.")
    @admins
    async def api_key_create(
        self,
        info: Info,
        name: Annotated[str, strawberry.argument(description="A name to tell keys apart (e.g. the system that uses "
                                                             "it).")],
    ) -> ApiKeyCreatePayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            key = await operations.create_api_key(
                session, tenant_id=context.tenant.id, name=name, created_by=context.principal.user_id
            )
            return {"api_key": key}

        return await run_mutation(context, ApiKeyCreatePayload, action)

    @strawberry.mutation(description="Admins: the key is refused from its next request on.")
    @admins
    async def api_key_revoke(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The ApiKey's ID.")]
    ) -> ApiKeyPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.revoke_key(session, key_id=decode(id, "ApiKey"))
            return {"api_key": ApiKey.of(row)}

        return await run_mutation(context, ApiKeyPayload, action)

    @strawberry.mutation(description="Admins: the tenant's settings; only the fields given change.")
    @admins
    async def tenant_update(
        self, info: Info,
        input: Annotated[TenantUpdateInput, strawberry.argument(description="The settings to change.")],
    ) -> TenantPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.update_tenant(
                session, tenant_id=context.tenant.id,
                changes=operations.TenantChanges(**{
                    name: getattr(input, name) for name in operations.TenantChanges.__dataclass_fields__
                }),
            )
            updated = tenant_info(row)
            # After the commit, so no request reads the old settings back into the cache.
            event.listen(session.sync_session, "after_commit", lambda _s: forget_tenant(updated), once=True)
            return {"tenant": Tenant.of(updated)}

        return await run_mutation(context, TenantPayload, action)

    @strawberry.mutation(description="Any signed-in user: returns a new token; the older ones stop working.")
    @signed_in
    async def password_change(
        self,
        info: Info,
        current_password: Annotated[str, strawberry.argument(description="The password in use now.")],
        new_password: Annotated[str, strawberry.argument(description="The new password (the same rules as at "
                                                                     "registration).")],
    ) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            user_id = context.principal.user_id
            assert user_id is not None  # signed_in
            signed = await operations.change_password(
                session, tenant_id=tenant.id, user_id=user_id, current_password=current_password,
                new_password=new_password, address=context.client_address,
            )
            viewer = await signed_viewer(session, tenant, signed.user.id)
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Admins: a one-time code for the user to set a new password with.")
    @admins
    async def password_reset_issue(
        self, info: Info,
        user_id: Annotated[strawberry.ID, strawberry.argument(description="The User's ID, in this tenant.")],
    ) -> PasswordResetPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            issued = await operations.issue_password_reset(
                session, tenant_id=context.tenant.id, user_id=decode(user_id, "User"),
                issued_by=context.principal.user_id,
            )
            return {"code": issued.code, "expires_at": issued.expires_at}

        return await run_mutation(context, PasswordResetPayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: a new password with a one-time code.")
    @public
    async def password_reset(
        self,
        info: Info,
        login: Annotated[str, strawberry.argument(description="The user's phone number or e-mail.")],
        code: Annotated[str, strawberry.argument(description="The code from passwordResetIssue; works once, until "
                                                             "expiresAt (else INVALID_CREDENTIALS).")],
        new_password: Annotated[str, strawberry.argument(description="The new password.")],
    ) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            signed = await operations.reset_password(
                session, tenant_id=tenant.id, login=login, code=code, new_password=new_password,
                address=context.client_address, phone_region=tenant.phone_region,
            )
            viewer = await signed_viewer(session, tenant, signed.user.id)
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)
