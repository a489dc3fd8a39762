"""Tenants, accounts and API keys: the operations behind the GraphQL mutations."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlsplit
from uuid import UUID, uuid4

from sqlalchemy import CursorResult, func, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.accounts import login_limits
from service.accounts.credentials import (
    hash_password_off_loop,
    hash_secret,
    issue_user_token,
    new_api_key,
    verify_password_off_loop,
)
from service.accounts.languages import language_value
from service.accounts.models import (
    AccountKind,
    ApiKey,
    PaymentMode,
    ReferralBinding,
    ShortagePolicy,
    Tenant,
    User,
)
from service.accounts.phones import DEFAULT_REGION, phone_value
from service.aftersales.compensation import check_settings as compensation_settings
from service.config import get_settings
from service.db import set_tenant
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.pagination import Page, fetch_page
from service.validation import (
    SLUG_RE,
    currency_value,
    email_value,
    money_value,
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
    default_language: str = "zh-CN",
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
    language = language_value(errors, default_language, ["defaultLanguage"])
    errors.raise_if_any()
    assert rate is not None and language is not None  # given and valid, or raise_if_any raised
    if (await session.execute(select(Tenant.id).where(col(Tenant.slug) == slug))).first():
        raise fail(ErrorCode.ALREADY_EXISTS, "This slug is taken.", ["slug"])

    tenant = Tenant(
        slug=slug, name=clean_name or slug, timezone=timezone, currency=currency,
        payment_mode=payment_mode, default_commission_rate=rate, default_language=language,
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


async def _changed_one(session: AsyncSession, sql: str, tenant_id: UUID, key: UUID) -> bool:
    result = await session.execute(text(sql), {"t": tenant_id, "id": key})
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


# statement_timestamp(): Citus refuses a volatile function (clock_timestamp()) in an UPDATE; the
# tenant is named so the coordinator routes each update to the tenant's shard.
async def revoke_api_key(session: AsyncSession, *, tenant_id: UUID, key_id: UUID) -> bool:
    """Refused from the next request on, by every process: keys are checked on every request."""
    return await _changed_one(
        session, "UPDATE api_key SET revoked_at = statement_timestamp() "
                 "WHERE tenant_id = :t AND id = :id AND revoked_at IS NULL", tenant_id, key_id
    )


async def disable_user(session: AsyncSession, *, tenant_id: UUID, user_id: UUID) -> bool:
    """The account cannot sign in, and its tokens are refused from the next request on, by every
    process (account_roles runs on every request)."""
    return await _changed_one(
        session, "UPDATE app_user SET disabled_at = statement_timestamp() "
                 "WHERE tenant_id = :t AND id = :id AND disabled_at IS NULL", tenant_id, user_id,
    )


async def enable_user(session: AsyncSession, *, tenant_id: UUID, user_id: UUID) -> bool:
    return await _changed_one(
        session, "UPDATE app_user SET disabled_at = NULL WHERE tenant_id = :t AND id = :id AND disabled_at IS NOT NULL",
        tenant_id, user_id,
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
    return SignIn(user=user, token=_token_of(user))


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
    return SignIn(user=user, token=_token_of(user))


def _token_of(user: User) -> str:
    return issue_user_token(tenant_id=user.tenant_id, user_id=user.id, version=user.token_version)


async def _set_password(session: AsyncSession, user: User, password: str) -> None:
    """A new hash and a new token version: every token issued before stops working."""
    user.password_hash = await hash_password_off_loop(password)
    user.token_version += 1
    await session.flush()


async def change_password(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, current_password: str, new_password: str,
    address: str | None,
) -> SignIn:
    """The current password is checked like a sign-in (the same counters): a stolen token cannot
    be used to guess it. Returns a fresh token; the caller's older ones stop working."""
    errors = Collector()
    password_value(errors, new_password, ["newPassword"])
    errors.raise_if_any()
    user = (
        await session.execute(select(User).where(col(User.id) == user_id).with_for_update())
    ).scalar_one_or_none()
    login = (user.email.lower() if user.email else user.phone) if user is not None else None
    hit = await login_limits.take_sign_in(tenant_id, login or f"user:{user_id}", address)
    if user is None or not await verify_password_off_loop(user.password_hash, current_password):
        raise fail(ErrorCode.INVALID_CREDENTIALS, "The current password is wrong.", ["currentPassword"])
    await login_limits.signed_in(hit)
    await _set_password(session, user, new_password)
    return SignIn(user=user, token=_token_of(user))


def _code_hash(tenant_id: UUID, code: str) -> str:
    # Codes carry ~50 bits and live minutes, and the tries are rate-limited: a keyed fast hash.
    return hash_secret(f"{tenant_id}:{code.strip().upper()}")


RESET_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read out or typed
RESET_CODE_LENGTH = 10


@dataclass
class IssuedReset:
    code: str
    expires_at: datetime


async def issue_password_reset(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID | None, issued_by: UUID | None
) -> IssuedReset:
    """A one-time code for the user, shown once to the admin who hands it over. Earlier unused
    codes of the user stop working: only the latest is valid."""
    user = await session.get(User, (tenant_id, user_id)) if user_id is not None else None
    if user is None:
        raise fail(ErrorCode.NOT_FOUND, "No such user.", ["userId"])
    if user.disabled_at is not None:
        raise fail(ErrorCode.CONFLICT, "This account is disabled.", ["userId"])
    await session.execute(
        text("UPDATE password_reset SET used_at = statement_timestamp() "
             "WHERE tenant_id = :t AND user_id = :u AND used_at IS NULL"),
        {"t": tenant_id, "u": user.id},
    )
    code = "".join(secrets.choice(RESET_CODE_ALPHABET) for _ in range(RESET_CODE_LENGTH))
    ttl = get_settings().password_reset_ttl_seconds
    expires_at = (
        await session.execute(
            text(
                "INSERT INTO password_reset (tenant_id, id, user_id, code_hash, issued_by, expires_at) "
                "VALUES (:t, :i, :u, :h, :b, clock_timestamp() + make_interval(secs => :ttl)) RETURNING expires_at"
            ),
            {"t": tenant_id, "i": uuid4(), "u": user.id, "h": _code_hash(tenant_id, code), "b": issued_by,
             "ttl": ttl},
        )
    ).scalar_one()
    return IssuedReset(code=code, expires_at=expires_at)


async def reset_password(
    session: AsyncSession, *, tenant_id: UUID, login: str, code: str, new_password: str,
    address: str | None, phone_region: str = DEFAULT_REGION,
) -> SignIn:
    """Counted like a sign-in, on the login's and the address's counters; an unknown login and a
    wrong, used or expired code get the same answer."""
    errors = Collector()
    password_value(errors, new_password, ["newPassword"])
    errors.raise_if_any()
    key = login_limits.login_key(login, phone_region)
    hit = await login_limits.take_sign_in(tenant_id, key, address)
    wrong = fail(ErrorCode.INVALID_CREDENTIALS, "Wrong login or code.", ["code"])
    if "@" in key:
        lookup = func.lower(col(User.email)) == key
    elif key.startswith("+"):
        lookup = col(User.phone) == key
    else:
        raise wrong
    user = (
        await session.execute(select(User).where(lookup, col(User.disabled_at).is_(None)).with_for_update())
    ).scalar_one_or_none()
    if user is None:
        raise wrong
    used = (
        await session.execute(
            text(
                "UPDATE password_reset SET used_at = statement_timestamp() WHERE tenant_id = :t AND user_id = :u "
                "AND code_hash = :h AND used_at IS NULL AND expires_at > statement_timestamp() RETURNING id"
            ),
            {"t": tenant_id, "u": user.id, "h": _code_hash(tenant_id, code)},
        )
    ).first()
    if used is None:
        raise wrong
    await login_limits.signed_in(hit)
    await _set_password(session, user, new_password)
    return SignIn(user=user, token=_token_of(user))


async def api_key_for_update(session: AsyncSession, *, key_id: UUID | None) -> ApiKey:
    key = (
        await session.execute(select(ApiKey).where(col(ApiKey.id) == key_id).with_for_update())
    ).scalar_one_or_none() if key_id is not None else None
    if key is None:
        raise fail(ErrorCode.NOT_FOUND, "No such API key.", ["id"])
    return key


async def revoke_key(session: AsyncSession, *, key_id: UUID | None) -> ApiKey:
    """Revoking a revoked key is not an error: it stays revoked since the first time."""
    key = await api_key_for_update(session, key_id=key_id)
    await revoke_api_key(session, tenant_id=key.tenant_id, key_id=key.id)
    await session.refresh(key)
    return key


# -- tenant settings ------------------------------------------------------------------------------
MAX_DISTRIBUTION_TOTAL = Decimal("0.3")
MAX_WITHDRAWAL_FEE_RATE = Decimal("0.2")
# What a front-end URL template may contain besides text: the tenant's and the object's keys.
URL_PLACEHOLDERS = ("{tenant}", "{batchId}", "{offerId}", "{orderId}", "{groupCode}", "{leaderId}", "{groupBuyId}")
_PLACEHOLDER_RE = re.compile(r"\{[^{}]*\}")


def _int_in(errors: Collector, value: int | None, field: str, low: int, high: int) -> int | None:
    if value is not None and not low <= value <= high:
        errors.add(ErrorCode.INVALID, msg("input.between", low=low, high=high), [field])
        return None
    return value


def url_template_value(errors: Collector, value: str | None, field: Sequence[str]) -> str | None:
    """An https URL with only the documented placeholders (URL_PLACEHOLDERS); "" clears it."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return ""
    if len(value) > 500:
        errors.add(ErrorCode.INVALID, "At most 500 characters.", field)
        return None
    unknown = [p for p in _PLACEHOLDER_RE.findall(value) if p not in URL_PLACEHOLDERS]
    if unknown:
        errors.add(ErrorCode.INVALID, msg("accounts.unknown_placeholder", placeholder=unknown[0],
                                          known=", ".join(URL_PLACEHOLDERS)),
                   field)
        return None
    sample = _PLACEHOLDER_RE.sub("x", value)
    parsed = urlsplit(sample)
    if parsed.scheme != "https" or not parsed.hostname or "{" in sample or "}" in sample or any(
        c.isspace() for c in sample
    ):
        errors.add(ErrorCode.INVALID, msg("accounts.link_template", example="{batchId}"), field)
        return None
    return value


@dataclass
class TenantChanges:
    """tenantUpdate's input: None leaves a setting as it is."""

    name: str | None = None
    timezone: str | None = None
    default_commission_rate: Decimal | None = None
    payment_window_minutes: int | None = None
    pickup_window_days: int | None = None
    commission_freeze_days: int | None = None
    after_sales_window_hours: int | None = None
    shortage_policy: ShortagePolicy | None = None
    withdrawal_minimum: Decimal | None = None
    withdrawal_fee_rate: Decimal | None = None
    front_end_url_template: str | None = None
    distribution_enabled: bool | None = None
    distribution_level1_rate: Decimal | None = None
    distribution_level2_rate: Decimal | None = None
    referral_binding: ReferralBinding | None = None
    attribution_window_days: int | None = None
    withdrawal_fee_fixed: Decimal | None = None  # leader money (migration 0019)
    withdrawal_daily_limit: int | None = None
    compensation_mode: str | None = None  # compensation by coupon (migration 0029)
    compensation_coupon_template_id: str | None = None  # a CouponTemplate's global ID; "" clears it
    default_language: str | None = None  # messages sent out (migration 0043)


async def update_tenant(session: AsyncSession, *, tenant_id: UUID, changes: TenantChanges) -> Tenant:
    """Every given setting checked (errors at the input's field names) before any is written."""
    errors = Collector()
    c = changes
    values: dict[str, object] = {}
    if c.name is not None:
        values["name"] = text_value(errors, c.name, ["name"], max_length=200)
    if c.timezone is not None:
        values["timezone"] = timezone_value(errors, c.timezone, ["timezone"])
    tenant = (
        await session.execute(select(Tenant).where(col(Tenant.id) == tenant_id).with_for_update())
    ).scalar_one()
    values["default_commission_rate"] = rate_value(errors, c.default_commission_rate, ["defaultCommissionRate"])
    values["payment_window_minutes"] = _int_in(errors, c.payment_window_minutes, "paymentWindowMinutes", 1, 1440)
    values["pickup_window_days"] = _int_in(errors, c.pickup_window_days, "pickupWindowDays", 1, 60)
    values["commission_freeze_days"] = _int_in(errors, c.commission_freeze_days, "commissionFreezeDays", 0, 90)
    values["after_sales_window_hours"] = _int_in(
        errors, c.after_sales_window_hours, "afterSalesWindowHours", 0, 720
    )
    values["attribution_window_days"] = _int_in(errors, c.attribution_window_days, "attributionWindowDays", 1, 365)
    values["withdrawal_minimum_minor"] = money_value(
        errors, c.withdrawal_minimum, ["withdrawalMinimum"], currency=tenant.currency
    )
    values["withdrawal_fee_rate"] = rate_value(
        errors, c.withdrawal_fee_rate, ["withdrawalFeeRate"], maximum=MAX_WITHDRAWAL_FEE_RATE
    )
    level1 = rate_value(errors, c.distribution_level1_rate, ["distributionLevel1Rate"],
                        maximum=MAX_DISTRIBUTION_TOTAL)
    level2 = rate_value(errors, c.distribution_level2_rate, ["distributionLevel2Rate"],
                        maximum=MAX_DISTRIBUTION_TOTAL)
    values["distribution_level1_rate"] = level1
    values["distribution_level2_rate"] = level2
    total = (tenant.distribution_level1_rate if level1 is None else level1) + (
        tenant.distribution_level2_rate if level2 is None else level2
    )
    if total > MAX_DISTRIBUTION_TOTAL and not errors.errors:
        errors.add(
            ErrorCode.INVALID,
            msg("accounts.distribution_total", max=MAX_DISTRIBUTION_TOTAL),
            ["distributionLevel2Rate" if c.distribution_level2_rate is not None else "distributionLevel1Rate"],
        )
    template = url_template_value(errors, c.front_end_url_template, ["frontEndUrlTemplate"])
    if template is not None:
        values["front_end_url_template"] = template or None
    values["shortage_policy"] = c.shortage_policy
    values["referral_binding"] = c.referral_binding
    values["distribution_enabled"] = c.distribution_enabled
    values["withdrawal_fee_fixed_minor"] = money_value(
        errors, c.withdrawal_fee_fixed, ["withdrawalFeeFixed"], currency=tenant.currency
    )
    values["withdrawal_daily_limit"] = _int_in(errors, c.withdrawal_daily_limit, "withdrawalDailyLimit", 1, 100)
    values["default_language"] = language_value(errors, c.default_language, ["defaultLanguage"])
    compensation = await compensation_settings(session, errors, c.compensation_mode, c.compensation_coupon_template_id,
                                               tenant_id)
    errors.raise_if_any()
    for key, value in values.items():
        if value is not None or key == "front_end_url_template":
            setattr(tenant, key, value)
    for key, value in compensation.items():  # columns the model does not map (migration 0029)
        await session.execute(text(f"UPDATE tenant SET {key} = :v WHERE id = :t"), {"v": value, "t": tenant_id})
    await session.flush()
    await session.refresh(tenant)  # as stored (numeric scale), as every later read gives it
    return tenant


async def api_key_page(session: AsyncSession, *, first: int, after: str | None) -> Page[ApiKey]:
    """The tenant's keys (the session's tenant), oldest first, revoked ones included."""
    return await fetch_page(session, select(ApiKey), ApiKey, first=first, after=after)


async def api_keys_by_ids(session: AsyncSession, *, ids: Sequence[UUID]) -> dict[UUID, ApiKey]:
    rows = await session.execute(select(ApiKey).where(col(ApiKey.id).in_(ids)))
    return {k.id: k for k in rows.scalars()}
