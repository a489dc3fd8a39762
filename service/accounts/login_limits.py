"""Failed sign-ins are counted per login and per client address in fixed windows (Redis)."""

from __future__ import annotations

import hashlib
import logging
from uuid import UUID

from redis.exceptions import RedisError

from service.config import get_settings
from service.redis_conn import async_redis

log = logging.getLogger(__name__)


def _keys(tenant_id: UUID, login: str, address: str | None) -> list[tuple[str, int]]:
    s = get_settings()
    digest = hashlib.sha256(login.strip().lower().encode()).hexdigest()[:32]
    keys = [(f"login-fail:{tenant_id}:{digest}", s.login_attempts_per_login)]
    if address:
        keys.append((f"login-fail-addr:{address}", s.login_attempts_per_address))
    return keys


async def is_blocked(tenant_id: UUID, login: str, address: str | None) -> bool:
    keys = _keys(tenant_id, login, address)
    try:
        counts = await async_redis().mget([k for k, _ in keys])
    except RedisError:
        log.warning("login rate limit unavailable (Redis); allowing the attempt")
        return False
    return any(c is not None and int(c) >= limit for c, (_, limit) in zip(counts, keys, strict=True))


async def record_failure(tenant_id: UUID, login: str, address: str | None) -> None:
    window = get_settings().login_window_seconds
    try:
        async with async_redis().pipeline(transaction=False) as pipe:
            for key, _ in _keys(tenant_id, login, address):
                pipe.incr(key)
                pipe.expire(key, window, nx=True)
            await pipe.execute()
    except RedisError:
        log.warning("could not record a failed sign-in (Redis)")


async def clear(tenant_id: UUID, login: str) -> None:
    try:
        await async_redis().delete(_keys(tenant_id, login, None)[0][0])
    except RedisError:
        pass
