"""From an HTTP request to a Principal: bearer token and/or `X-Tenant`, never two tenants."""

from __future__ import annotations

import base64
import json
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import text

from service.accounts.credentials import (
    API_KEY_PREFIX,
    UserClaims,
    hash_secret,
    parse_api_key,
    read_user_token,
    secrets_equal,
)
from service.accounts.models import PaymentMode, ReferralBinding, Role, ShortagePolicy
from service.accounts.roles import account_roles
from service.config import get_settings
from service.db import tenant_transaction
from service.errors import AuthError
from service.i18n import msg
from service.tenants.principal import Principal, PrincipalKind, TenantInfo
from service.validation import SLUG_RE

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """Least recently used entries go first once `size` are kept; each entry lives `ttl` seconds."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> tuple[bool, V | None]:
        hit = self._entries.get(key)
        if hit is None:
            return False, None
        if hit[0] <= time.monotonic():
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, hit[1]

    def put(self, key: K, value: V, ttl: float) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> None:
        self._entries.pop(key, None)

    def __len__(self) -> int:
        return len(self._entries)


_TENANT_TTL = 60.0
# A name or id that is no tenant is remembered briefly: anyone can send new ones.
_MISSING_TTL = 5.0
_TENANTS_MAX = 2048
_by_slug: BoundedCache[str, TenantInfo | None] = BoundedCache(_TENANTS_MAX)
_by_id: BoundedCache[UUID, TenantInfo | None] = BoundedCache(_TENANTS_MAX)

_TENANT_COLUMNS = (
    "id, slug, name, timezone, currency, payment_mode, default_commission_rate, payment_window_minutes,"
    " phone_region, pickup_window_days, commission_freeze_days, after_sales_window_hours, shortage_policy,"
    " withdrawal_minimum_minor, withdrawal_fee_rate, front_end_url_template, distribution_enabled,"
    " distribution_level1_rate, distribution_level2_rate, referral_binding, attribution_window_days"
)


def tenant_info(row: Any) -> TenantInfo:
    """From a row of _TENANT_COLUMNS, or a Tenant model (the same attribute names)."""
    return TenantInfo(
        id=row.id, slug=row.slug, name=row.name, timezone=row.timezone, currency=row.currency,
        payment_mode=PaymentMode(row.payment_mode), default_commission_rate=row.default_commission_rate,
        payment_window_minutes=row.payment_window_minutes, phone_region=row.phone_region,
        pickup_window_days=row.pickup_window_days, commission_freeze_days=row.commission_freeze_days,
        after_sales_window_hours=row.after_sales_window_hours,
        shortage_policy=ShortagePolicy(row.shortage_policy),
        withdrawal_minimum_minor=row.withdrawal_minimum_minor, withdrawal_fee_rate=row.withdrawal_fee_rate,
        front_end_url_template=row.front_end_url_template, distribution_enabled=row.distribution_enabled,
        distribution_level1_rate=row.distribution_level1_rate,
        distribution_level2_rate=row.distribution_level2_rate,
        referral_binding=ReferralBinding(row.referral_binding),
        attribution_window_days=row.attribution_window_days,
    )


def forget_tenant(tenant: TenantInfo) -> None:
    _by_slug.pop(tenant.slug)
    _by_id.pop(tenant.id)


async def _load_tenant(column: str, value: object) -> TenantInfo | None:
    async with tenant_transaction(None) as session:
        row = (
            await session.execute(text(f"SELECT {_TENANT_COLUMNS} FROM tenant WHERE {column} = :v"), {"v": value})
        ).first()
    return tenant_info(row) if row else None


async def tenant_by_slug(slug: str) -> TenantInfo | None:
    if not SLUG_RE.match(slug):  # no tenant has it: not worth a query, nor a cache entry
        return None
    found, info = _by_slug.get(slug)
    if found:
        return info
    info = await _load_tenant("slug", slug)
    _by_slug.put(slug, info, _TENANT_TTL if info else _MISSING_TTL)
    return info


async def tenant_by_id(tenant_id: UUID) -> TenantInfo | None:
    found, info = _by_id.get(tenant_id)
    if found:
        return info
    info = await _load_tenant("id", tenant_id)
    _by_id.put(tenant_id, info, _TENANT_TTL if info else _MISSING_TTL)
    return info


# Verified user tokens, for a minute at most and never past their expiry: a token's signature and
# claims cannot change, and what can be revoked (a disabled account) is checked in the database on
# every request that uses the account. Verifying costs ~0.2 ms per request (HMAC, JSON, reading the
# secret). Only tokens that verified are kept, so junk cannot fill it.
_TOKEN_TTL = 60.0
_TOKENS_MAX = 10_000
_tokens: dict[str, tuple[float, UserClaims]] = {}
_clock = time.time


def _expiry(token: str) -> float:
    """The `exp` of a token that verified (so it is well formed and has one)."""
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


def user_claims(token: str) -> UserClaims:
    now = _clock()
    hit = _tokens.get(token)
    if hit is not None and now < hit[0]:
        return hit[1]
    claims = read_user_token(token)
    if len(_tokens) >= _TOKENS_MAX:
        _tokens.clear()
    _tokens[token] = (min(now + _TOKEN_TTL, _expiry(token)), claims)
    return claims


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization")
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("INVALID_TOKEN", "Authorization must be 'Bearer <token>'.")
    return token.strip()


async def _named_tenant(headers: Mapping[str, str]) -> TenantInfo | None:
    slug = headers.get("x-tenant")
    if slug is None:
        return None
    slug = slug.strip().lower()
    tenant = await tenant_by_slug(slug) if slug else None
    if tenant is None:
        named = f" '{slug}'" if SLUG_RE.match(slug) else ""  # never echo junk back
        raise AuthError("UNKNOWN_TENANT", msg("auth.no_tenant", named=named), status=400)
    return tenant


def _same_tenant(bound: TenantInfo, named: TenantInfo | None) -> TenantInfo:
    if named is not None and named.id != bound.id:
        raise AuthError(
            "TENANT_MISMATCH", "The token belongs to another tenant than the X-Tenant header names.", 400
        )
    return bound


async def resolve_principal(headers: Mapping[str, str], *, check_account: bool = True) -> Principal:
    """Who is calling. `check_account=False` leaves a user's account check (and so the roles) to
    `check_principal`, which the caller must await before anything runs, unless the request's
    only fields check the account in their own statement (orderPlace)."""
    token = _bearer(headers)
    named = await _named_tenant(headers)
    if token is None:
        return Principal(PrincipalKind.ANONYMOUS, tenant=named)
    if token.startswith("gbp_"):
        if not secrets_equal(token, get_settings().platform_token_value):
            raise AuthError("INVALID_TOKEN", "The platform token is not valid.")
        return Principal(PrincipalKind.PLATFORM, tenant=named, roles=frozenset({Role.PLATFORM_ADMIN}))
    if token.startswith(API_KEY_PREFIX):
        return await _api_key_principal(token, named)
    claims = user_claims(token)
    tenant = await tenant_by_id(claims.tenant_id)
    if tenant is None:
        raise AuthError("INVALID_TOKEN", "The token's tenant no longer exists.")
    tenant = _same_tenant(tenant, named)
    principal = Principal(PrincipalKind.USER, tenant=tenant, user_id=claims.user_id, token_version=claims.version)
    return await check_principal(principal) if check_account else principal


async def check_principal(principal: Principal) -> Principal:
    """A user's account, checked on every request and never cached: a disabled account or a token
    older than the last password change is refused at once, by every process. The roles come
    with it, so the request does not load them again."""
    if principal.kind is PrincipalKind.USER and principal.roles is None:
        assert principal.tenant is not None and principal.user_id is not None
        principal.roles = await account_roles(principal.tenant.id, principal.user_id, principal.token_version or 0)
    return principal


# api_key.last_used_at is written at most once a minute per key and process: one UPDATE a minute
# instead of one per request, and a key used everywhere still shows it within a minute or so.
_KEY_USE_EVERY = 60.0
_key_uses: BoundedCache[UUID, bool] = BoundedCache(_TENANTS_MAX)


def _key_use_due(key_id: UUID) -> bool:
    noted, _ = _key_uses.get(key_id)
    if noted:
        return False
    _key_uses.put(key_id, True, _KEY_USE_EVERY)
    return True


# statement_timestamp(): Citus refuses a volatile function (clock_timestamp()) in an UPDATE.
_NOTE_KEY_USE = text(
    "UPDATE api_key SET last_used_at = statement_timestamp() WHERE tenant_id = :t AND id = :id"
    " AND revoked_at IS NULL"
    " AND (last_used_at IS NULL OR last_used_at < statement_timestamp() - make_interval(secs => :every))"
)


async def _api_key_principal(token: str, named: TenantInfo | None) -> Principal:
    tenant_id, key_id, secret = parse_api_key(token)
    tenant = await tenant_by_id(tenant_id)
    if tenant is None:
        raise AuthError("INVALID_API_KEY", "The API key is not valid.")
    tenant = _same_tenant(tenant, named)
    async with tenant_transaction(tenant.id) as session:
        row = (
            await session.execute(
                text("SELECT secret_hash, revoked_at FROM api_key WHERE tenant_id = :t AND id = :id"),
                {"t": tenant.id, "id": key_id},
            )
        ).first()
        if row is None or not secrets_equal(row.secret_hash, hash_secret(secret)):
            raise AuthError("INVALID_API_KEY", "The API key is not valid.")
        if row.revoked_at is None and _key_use_due(key_id):
            await session.execute(_NOTE_KEY_USE, {"t": tenant.id, "id": key_id, "every": _KEY_USE_EVERY})
    if row.revoked_at is not None:
        raise AuthError("API_KEY_REVOKED", "The API key has been revoked.")
    return Principal(
        PrincipalKind.API_KEY, tenant=tenant, api_key_id=key_id, roles=frozenset({Role.TENANT_ADMIN})
    )
