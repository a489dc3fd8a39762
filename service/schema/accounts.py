"""Tenants, the viewer, sign-up, sign-in and API keys."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.accounts import operations
from service.accounts.models import PaymentMode as PaymentModeEnum
from service.accounts.models import Role as RoleEnum
from service.accounts.roles import load_roles
from service.db import set_tenant
from service.errors import ErrorCode, fail
from service.schema.access import Caller, admins, public, requires
from service.schema.catalog import viewer_supplier
from service.schema.common import Node, UserError
from service.schema.context import Context
from service.schema.leaders import viewer_leader
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.tenants.principal import TenantInfo

if TYPE_CHECKING:
    from service.schema.catalog import Supplier
    from service.schema.leaders import Leader

Info = strawberry.Info[Context, None]
# The GraphQL enums PaymentMode and Role are PaymentModeEnum and RoleEnum themselves
# (strawberry.enum keeps the class): fields name the classes, which type checkers understand.


@strawberry.type
class Tenant(Node):
    id: strawberry.ID
    slug: str
    name: str
    timezone: str
    currency: str
    payment_mode: PaymentModeEnum
    default_commission_rate: Decimal
    payment_window_minutes: int

    @classmethod
    def of(cls, t: TenantInfo) -> Tenant:
        return cls(
            id=strawberry.ID(global_id.encode("Tenant", t.id)), slug=t.slug, name=t.name,
            timezone=t.timezone, currency=t.currency, payment_mode=t.payment_mode,
            default_commission_rate=t.default_commission_rate,
            payment_window_minutes=t.payment_window_minutes,
        )


@node_loader("Tenant")
async def _load_tenant(context: Context, id: UUID) -> Tenant | None:
    tenant = context.principal.tenant
    return Tenant.of(tenant) if tenant is not None and tenant.id == id else None


@strawberry.type
class Viewer:
    user_id: strawberry.ID | None
    display_name: str | None
    roles: list[RoleEnum]
    tenant: Tenant

    @strawberry.field(description="The caller's leader record (any status), when they applied or lead.")
    async def leader(self, info: Info) -> Annotated[Leader, strawberry.lazy("service.schema.leaders")] | None:
        return await viewer_leader(info.context, self.user_id)

    @strawberry.field(description="Set when the caller is a supplier's staff account.")
    async def supplier(self, info: Info) -> Annotated[Supplier, strawberry.lazy("service.schema.catalog")] | None:
        return await viewer_supplier(info.context, self.user_id)


async def build_viewer(
    session: AsyncSession, tenant: TenantInfo, user_id: UUID | None, roles: frozenset[RoleEnum]
) -> Viewer:
    display_name = None
    if user_id is not None:
        display_name = (
            await session.execute(text("SELECT display_name FROM app_user WHERE id = :id"), {"id": user_id})
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


def _one_password_per_request(context: Context) -> None:
    """One Argon2 hash per HTTP request (aliases and batches included): each costs ~50 ms of CPU
    and 64 MiB, so one request must not multiply it."""
    state = context.request.state
    if getattr(state, "password_hashed", False):
        raise fail(ErrorCode.RATE_LIMITED, "One sign-in or registration per request; send the others apart.")
    state.password_hashed = True


@strawberry.input
class TenantCreateInput:
    slug: str
    name: str
    admin_email: str
    admin_password: str
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    payment_mode: PaymentModeEnum = PaymentModeEnum.PREPAID
    default_commission_rate: Decimal | None = None


@strawberry.type
class TenantCreatePayload:
    errors: list[UserError]
    tenant: Tenant | None = None
    api_key: str | None = strawberry.field(default=None, description="Shown once; stored hashed.")


@strawberry.input
class CustomerRegisterInput:
    display_name: str
    password: str
    phone: str | None = None
    email: str | None = None


@strawberry.input
class TokenCreateInput:
    login: str
    password: str


@strawberry.type
class AuthPayload:
    errors: list[UserError]
    token: str | None = None
    viewer: Viewer | None = None


@strawberry.type
class ApiKeyCreatePayload:
    errors: list[UserError]
    api_key: str | None = strawberry.field(default=None, description="The secret, shown once.")


@strawberry.type
class AccountsQuery:
    @strawberry.field
    @public
    async def me(self, info: Info) -> Viewer:
        return await viewer_of(info.context)

    @strawberry.field
    @public
    def tenant(self, info: Info) -> Tenant:
        return Tenant.of(info.context.tenant)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Platform admin token only: a tenant, its first admin and an API key.")
    @requires(Caller.PLATFORM)
    async def tenant_create(self, info: Info, input: TenantCreateInput) -> TenantCreatePayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            created = await operations.create_tenant(
                session, slug=input.slug, name=input.name, timezone=input.timezone,
                currency=input.currency, payment_mode=input.payment_mode,
                admin_email=input.admin_email, admin_password=input.admin_password,
                **({"default_commission_rate": input.default_commission_rate}
                   if input.default_commission_rate is not None else {}),
            )
            await set_tenant(session, context.principal.tenant.id if context.principal.tenant else None)
            t = created.tenant
            info_ = TenantInfo(
                id=t.id, slug=t.slug, name=t.name, timezone=t.timezone, currency=t.currency,
                payment_mode=t.payment_mode, default_commission_rate=t.default_commission_rate,
                payment_window_minutes=t.payment_window_minutes, phone_region=t.phone_region,
            )
            return {"tenant": Tenant.of(info_), "api_key": created.api_key}

        return await run_mutation(context, TenantCreatePayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: a customer account and its token.")
    @public
    async def customer_register(self, info: Info, input: CustomerRegisterInput) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            signed = await operations.register_customer(
                session, tenant_id=tenant.id, display_name=input.display_name, password=input.password,
                email=input.email, phone=input.phone, address=context.client_address,
                phone_region=tenant.phone_region,
            )
            viewer = await build_viewer(session, tenant, signed.user.id, await load_roles(session, signed.user.id))
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: sign in with phone or e-mail.")
    @public
    async def token_create(self, info: Info, input: TokenCreateInput) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session: AsyncSession) -> dict[str, Any]:
            _one_password_per_request(context)
            signed = await operations.sign_in(
                session, tenant_id=tenant.id, login=input.login, password=input.password,
                address=context.client_address, phone_region=tenant.phone_region,
            )
            viewer = await build_viewer(session, tenant, signed.user.id, await load_roles(session, signed.user.id))
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Admins: a new API key for the tenant's back end, shown once.")
    @admins
    async def api_key_create(self, info: Info, name: str) -> ApiKeyCreatePayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            key = await operations.create_api_key(
                session, tenant_id=context.tenant.id, name=name, created_by=context.principal.user_id
            )
            return {"api_key": key}

        return await run_mutation(context, ApiKeyCreatePayload, action)
