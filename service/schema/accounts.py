"""Tenants, the viewer, sign-up, sign-in and API keys."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.accounts import operations
from service.accounts.models import Role as RoleEnum
from service.accounts.roles import load_roles
from service.db import set_tenant
from service.errors import PermissionDenied
from service.schema.catalog import viewer_supplier
from service.schema.common import Node, PaymentMode, Role, UserError
from service.schema.context import Context
from service.schema.leaders import viewer_leader
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.tenants.principal import TenantInfo

if TYPE_CHECKING:
    from service.schema.catalog import Supplier
    from service.schema.leaders import Leader

Info = strawberry.Info[Context, None]


@strawberry.type
class Tenant(Node):
    id: strawberry.ID
    slug: str
    name: str
    timezone: str
    currency: str
    payment_mode: PaymentMode
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
    roles: list[Role]
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


@strawberry.input
class TenantCreateInput:
    slug: str
    name: str
    admin_email: str
    admin_password: str
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    payment_mode: PaymentMode = PaymentMode.PREPAID
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
    async def me(self, info: Info) -> Viewer:
        return await viewer_of(info.context)

    @strawberry.field
    def tenant(self, info: Info) -> Tenant:
        return Tenant.of(info.context.tenant)


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Platform admin token only: a tenant, its first admin and an API key.")
    async def tenant_create(self, info: Info, input: TenantCreateInput) -> TenantCreatePayload:
        context = info.context

        async def check() -> None:
            if not context.principal.is_platform:
                raise PermissionDenied("Only the platform administrator creates tenants.")

        async def action(session):  # type: ignore[no-untyped-def]
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
                payment_window_minutes=t.payment_window_minutes,
            )
            return {"tenant": Tenant.of(info_), "api_key": created.api_key}

        return await run_mutation(context, TenantCreatePayload, action, check=check)

    @strawberry.mutation(description="Anonymous, with X-Tenant: a customer account and its token.")
    async def customer_register(self, info: Info, input: CustomerRegisterInput) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session):  # type: ignore[no-untyped-def]
            signed = await operations.register_customer(
                session, tenant_id=tenant.id, display_name=input.display_name, password=input.password,
                email=input.email, phone=input.phone,
            )
            viewer = await build_viewer(session, tenant, signed.user.id, await load_roles(session, signed.user.id))
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Anonymous, with X-Tenant: sign in with phone or e-mail.")
    async def token_create(self, info: Info, input: TokenCreateInput) -> AuthPayload:
        context = info.context
        tenant = context.tenant

        async def action(session):  # type: ignore[no-untyped-def]
            signed = await operations.sign_in(
                session, tenant_id=tenant.id, login=input.login, password=input.password,
                address=context.client_address,
            )
            viewer = await build_viewer(session, tenant, signed.user.id, await load_roles(session, signed.user.id))
            return {"token": signed.token, "viewer": viewer}

        return await run_mutation(context, AuthPayload, action)

    @strawberry.mutation(description="Admins: a new API key for the tenant's back end, shown once.")
    async def api_key_create(self, info: Info, name: str) -> ApiKeyCreatePayload:
        context = info.context

        async def action(session):  # type: ignore[no-untyped-def]
            key = await operations.create_api_key(
                session, tenant_id=context.tenant.id, name=name, created_by=context.principal.user_id
            )
            return {"api_key": key}

        return await run_mutation(context, ApiKeyCreatePayload, action, check=context.require)
