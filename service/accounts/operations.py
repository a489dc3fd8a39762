"""Tenants, accounts and API keys: the operations behind the GraphQL mutations."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import CursorResult, func, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.accounts import login_limits
from service.accounts.credentials import (
    hash_password_off_loop,
    issue_user_token,
    new_api_key,
    verify_password_off_loop,
)
from service.accounts.models import AccountKind, ApiKey, PaymentMode, Tenant, User
from service.accounts.phones import DEFAULT_REGION, phone_value
from service.db import set_tenant
from service.errors import Collector, ErrorCode, fail
from service.validation import (
    SLUG_RE,
    currency_value,
    email_value,
    password_value,
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
    assert rate is not None  # a rate was given and valid, or raise_if_any raised
    if (await session.execute(select(Tenant.id).where(col(Tenant.slug) == slug))).first():
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
        email=email, password_hash=await hash_password_off_loop(admin_password),
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


async def _changed_one(session: AsyncSession, sql: str, key: UUID) -> bool:
    result = await session.execute(text(sql), {"id": key})
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


async def revoke_api_key(session: AsyncSession, *, key_id: UUID) -> bool:
    """Refused from the next request on, by every process: keys are checked on every request."""
    return await _changed_one(
        session, "UPDATE api_key SET revoked_at = clock_timestamp() WHERE id = :id AND revoked_at IS NULL", key_id
    )


async def disable_user(session: AsyncSession, *, user_id: UUID) -> bool:
    """The account cannot sign in, and its tokens are refused from the next request on, by every
    process (account_roles runs on every request)."""
    return await _changed_one(
        session, "UPDATE app_user SET disabled_at = clock_timestamp() WHERE id = :id AND disabled_at IS NULL",
        user_id,
    )


async def enable_user(session: AsyncSession, *, user_id: UUID) -> bool:
    return await _changed_one(
        session, "UPDATE app_user SET disabled_at = NULL WHERE id = :id AND disabled_at IS NOT NULL", user_id
    )


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
    phone_region: str = DEFAULT_REGION,
) -> User:
    errors = Collector()
    f = list(field_prefix)
    clean_name = text_value(errors, display_name, [*f, "displayName"], max_length=100)
    clean_email = email_value(errors, email, [*f, "email"])
    clean_phone = phone_value(errors, phone, [*f, "phone"], phone_region)
    if clean_email is None and clean_phone is None and not errors.errors:
        errors.add(ErrorCode.INVALID, "Give a phone number or an e-mail address to sign in with.", [*f, "phone"])
    password_value(errors, password, [*f, "password"])
    errors.raise_if_any()
    if clean_email and (
        await session.execute(select(User.id).where(func.lower(col(User.email)) == clean_email))
    ).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "An account with this e-mail exists.", [*f, "email"])
    if clean_phone and (await session.execute(select(User.id).where(col(User.phone) == clean_phone))).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "An account with this phone number exists.", [*f, "phone"])
    user = User(
        tenant_id=tenant_id, kind=kind, display_name=clean_name or "", email=clean_email,
        phone=clean_phone, password_hash=await hash_password_off_loop(password),
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
    email: str | None, phone: str | None, address: str | None = None, phone_region: str = DEFAULT_REGION,
) -> SignIn:
    """Counted per tenant and client address (RATE_LIMITED past the limit): each costs a hash."""
    await login_limits.take_registration(tenant_id, address)
    user = await create_user(
        session, tenant_id=tenant_id, kind=AccountKind.CUSTOMER, display_name=display_name,
        password=password, email=email, phone=phone, phone_region=phone_region,
    )
    return SignIn(user=user, token=issue_user_token(tenant_id=tenant_id, user_id=user.id))


async def sign_in(
    session: AsyncSession, *, tenant_id: UUID, login: str, password: str, address: str | None,
    phone_region: str = DEFAULT_REGION,
) -> SignIn:
    """One hit on the login's and the address's counters before the password is checked, given
    back when it was right (service/accounts/login_limits.py)."""
    key = login_limits.login_key(login, phone_region)
    hit = await login_limits.take_sign_in(tenant_id, key, address)
    user: User | None = None
    if "@" in key:
        lookup = func.lower(col(User.email)) == key
    elif key.startswith("+"):  # a valid number, in E.164 like every stored one
        lookup = col(User.phone) == key
    else:
        lookup = None
    if lookup is not None:
        found = await session.execute(select(User).where(lookup, col(User.disabled_at).is_(None)))
        user = found.scalar_one_or_none()
    # The hash is checked even without an account, so timing tells nothing.
    if not await verify_password_off_loop(user.password_hash if user else None, password) or user is None:
        raise fail(ErrorCode.INVALID_CREDENTIALS, "Wrong login or password.")
    await login_limits.signed_in(hit)
    return SignIn(user=user, token=issue_user_token(tenant_id=tenant_id, user_id=user.id))
