"""Sign-in and registration attempts, counted per tenant: per login and per client address.

Each sign-in takes a hit before the password is checked (so concurrent guesses cannot pass the
limit) and gives it back when the password was right. The address counter is per tenant, so one
client cannot lock every tenant out; the login counter is keyed on the normalised login, so
reformatting a phone number is the same login. Without Redis, the counters live in PostgreSQL.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from service.accounts import rate_limits
from service.accounts.phones import normalise_phone
from service.accounts.rate_limits import Counter, Hit
from service.config import get_settings
from service.errors import ErrorCode, UserErrors, fail
from service.i18n import msg


def login_key(login: str, region: str | None = None) -> str:
    """The login as stored: an e-mail in lower case, a phone number in E.164."""
    cleaned = login.strip().lower()
    if "@" in cleaned:
        return cleaned
    return normalise_phone(cleaned, region) or cleaned


def _login_counter(tenant_id: UUID, login: str) -> Counter:
    digest = hashlib.sha256(login.encode()).hexdigest()[:32]
    return Counter(f"rl:login:{tenant_id}:{digest}", get_settings().login_attempts_per_login)


def _limited(e: rate_limits.Limited, message: str) -> UserErrors:
    return fail(ErrorCode.RATE_LIMITED, msg(message, minutes=max(1, round(e.retry_after / 60))))


async def take_sign_in(tenant_id: UUID, login: str, address: str | None) -> Hit:
    """`login` normalised (login_key). Raises RATE_LIMITED while either counter is full."""
    s = get_settings()
    counters = [
        _login_counter(tenant_id, login),
        Counter(f"rl:login-addr:{tenant_id}:{rate_limits.address_key(address)}", s.login_attempts_per_address),
    ]
    try:
        return await rate_limits.take(tenant_id, counters, s.login_window_seconds, fallback=True)
    except rate_limits.Limited as e:
        raise _limited(e, "accounts.sign_ins_limited") from None


async def signed_in(hit: Hit) -> None:
    """The password was right: the login starts over, the address gets its hit back."""
    await rate_limits.give_back(hit, reset=[hit.counters[0].key])


async def take_registration(tenant_id: UUID, address: str | None) -> Hit:
    s = get_settings()
    counter = Counter(
        f"rl:register:{tenant_id}:{rate_limits.address_key(address)}", s.register_attempts_per_address
    )
    try:
        return await rate_limits.take(tenant_id, [counter], s.register_window_seconds, fallback=True)
    except rate_limits.Limited as e:
        raise _limited(e, "accounts.registrations_limited") from None
