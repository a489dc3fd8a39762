"""Tenants, accounts and API keys: the operations behind the GraphQL mutations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts import login_limits
from service.accounts.credentials import hash_password, issue_user_token, new_api_key, verify_password
from service.accounts.models import AccountKind, ApiKey, PaymentMode, Tenant, User
from service.db import set_tenant
from service.errors import Collector, ErrorCode, fail
from service.validation import (
    SLUG_RE,
    currency_value,
    email_value,
    password_value,
    phone_value,
    rate_value,
    text_value,
    timezone_value,
)


@dataclass
class NewTenant:
    tenant: Tenant
    admin: User
    api_key: str


async def create_tenant(
    session: AsyncSession,
    *,
    slug: str,
    name: str,
    timezone: str,
    currency: str,
    payment_mode: PaymentMode,
    admin_email: str,
    admin_password: str,
    default_commission_rate: Decimal = Decimal("0.10"),
) -> NewTenant:
    errors = Collector()
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        errors.add(ErrorCode.INVALID, "3 to 40 characters: a-z, 0-9 and '-'.", ["slug"])
    clean_name = text_value(errors, name, ["name"], max_length=200)
    timezone_value(errors, timezone, ["timezone"])
    currency = currency_value(errors, currency, ["currency"])
    email = email_value(errors, admin_email, ["adminEmail"])
    if email is None:
        errors.add(ErrorCode.INVALID, "An e-mail address is required.", ["adminEmail"])
    password_value(errors, admin_password, ["adminPassword"])
    rate = rate_value(errors, default_commission_rate, ["defaultCommissionRate"])
    errors.raise_if_any()
    if (await session.execute(select(Tenant.id).where(Tenant.slug == slug))).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "This slug is taken.", ["slug"])

    tenant = Tenant(
        slug=slug, name=clean_name or slug, timezone=timezone, currency=currency,
        payment_mode=payment_mode, default_commission_rate=rate,
    )
    session.add(tenant)
    await session.flush()
    await set_tenant(session, tenant.id)
    admin = User(
        tenant_id=tenant.id, kind=AccountKind.ADMIN, display_name="Administrator",
        email=email, password_hash=hash_password(admin_password),
    )
    session.add(admin)
    await session.flush()
    key = await create_api_key(session, tenant_id=tenant.id, name="default", created_by=admin.id)
    return NewTenant(tenant=tenant, admin=admin, api_key=key)


async def create_api_key(session: AsyncSession, *, tenant_id: UUID, name: str, created_by: UUID | None) -> str:
    errors = Collector()
    clean = text_value(errors, name, ["name"], max_length=100)
    errors.raise_if_any()
    key_id = uuid4()
    secret, secret_hash = new_api_key(tenant_id, key_id)
    session.add(ApiKey(tenant_id=tenant_id, id=key_id, name=clean or "key", secret_hash=secret_hash,
                       created_by=created_by))
    await session.flush()
    return secret


async def revoke_api_key(session: AsyncSession, *, key_id: UUID) -> bool:
    result = await session.execute(
        text("UPDATE api_key SET revoked_at = clock_timestamp() WHERE id = :id AND revoked_at IS NULL"),
        {"id": key_id},
    )
    return result.rowcount == 1


async def create_user(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    kind: AccountKind,
    display_name: str,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    field_prefix: tuple[str, ...] = (),
) -> User:
    errors = Collector()
    f = list(field_prefix)
    clean_name = text_value(errors, display_name, [*f, "displayName"], max_length=100)
    clean_email = email_value(errors, email, [*f, "email"])
    clean_phone = phone_value(errors, phone, [*f, "phone"])
    if clean_email is None and clean_phone is None and not errors.errors:
        errors.add(ErrorCode.INVALID, "Give a phone number or an e-mail address to sign in with.", [*f, "phone"])
    password_value(errors, password, [*f, "password"])
    errors.raise_if_any()
    if clean_email and (
        await session.execute(select(User.id).where(func.lower(User.email) == clean_email))
    ).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "An account with this e-mail exists.", [*f, "email"])
    if clean_phone and (await session.execute(select(User.id).where(User.phone == clean_phone))).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "An account with this phone number exists.", [*f, "phone"])
    user = User(
        tenant_id=tenant_id, kind=kind, display_name=clean_name or "", email=clean_email,
        phone=clean_phone, password_hash=hash_password(password),
    )
    session.add(user)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent registration took the same login
        raise fail(ErrorCode.ALREADY_EXISTS, "An account with this login exists.", [*f, "email"]) from None
    return user


@dataclass
class SignIn:
    user: User
    token: str


async def register_customer(
    session: AsyncSession, *, tenant_id: UUID, display_name: str, password: str,
    email: str | None, phone: str | None,
) -> SignIn:
    user = await create_user(
        session, tenant_id=tenant_id, kind=AccountKind.CUSTOMER, display_name=display_name,
        password=password, email=email, phone=phone,
    )
    return SignIn(user=user, token=issue_user_token(tenant_id=tenant_id, user_id=user.id))


async def sign_in(
    session: AsyncSession, *, tenant_id: UUID, login: str, password: str, address: str | None
) -> SignIn:
    if await login_limits.is_blocked(tenant_id, login, address):
        raise fail(ErrorCode.RATE_LIMITED, "Too many failed attempts; wait a few minutes and try again.")
    login_clean = login.strip().lower()
    column = User.email if "@" in login_clean else User.phone
    if column is User.phone:
        login_clean = "".join(ch for ch in login_clean if ch.isdigit() or ch == "+")
    lookup = func.lower(User.email) == login_clean if column is User.email else User.phone == login_clean
    user = (await session.execute(select(User).where(lookup, User.disabled_at.is_(None)))).scalar_one_or_none()
    if not verify_password(user.password_hash if user else None, password) or user is None:
        await login_limits.record_failure(tenant_id, login, address)
        raise fail(ErrorCode.INVALID_CREDENTIALS, "Wrong login or password.")
    await login_limits.clear(tenant_id, login)
    return SignIn(user=user, token=issue_user_token(tenant_id=tenant_id, user_id=user.id))
