"""Fixed-window counters behind the rate limits (sign-in, registration, pickup codes).

A hit is taken before the guarded work runs, atomically with the check, so concurrent requests
cannot all pass a nearly full counter; work that turns out legitimate gives its hit back.
Redis holds the counters (one Lua script, using only commands Redis 6.2 already has); when Redis
is unavailable, callers that allow it fall back to PostgreSQL counters, the others are refused.
Every counter carries its window as an expiry, so every lock ends.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError
from sqlalchemy import text

from service.db import tenant_transaction
from service.redis_conn import async_redis

log = logging.getLogger(__name__)

# KEYS: the counters; ARGV[1]: the window in ms; ARGV[1 + i]: what KEYS[i] allows per window.
# Returns 0 when a hit was counted on every key, else the ms until the full counter's window ends.
# A counter found without an expiry (written by an older version) gets one.
_TAKE = """
local window = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('PTTL', key)
    if ttl < 0 then
      redis.call('PEXPIRE', key, window)
      ttl = window
    end
    return math.max(ttl, 1)
  end
end
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 or redis.call('PTTL', key) < 0 then
    redis.call('PEXPIRE', key, window)
  end
end
return 0
"""
_GIVE_BACK = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then
    redis.call('DECR', key)
  end
end
return 0
"""

_scripts: dict[tuple[int, str], AsyncScript] = {}


def _script(client: Redis, source: str) -> AsyncScript:
    key = (id(client), source)
    script = _scripts.get(key)
    if script is None:
        script = _scripts[key] = client.register_script(source)
    return script


@dataclass(frozen=True)
class Counter:
    key: str
    allowed: int


class Limited(Exception):
    """A counter is full; `retry_after` seconds until its window ends."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class Unavailable(Exception):
    """Redis is unavailable and this limit does not fall back."""


@dataclass(frozen=True)
class Hit:
    """A hit taken on some counters, to give back if the attempt was legitimate."""

    tenant_id: UUID
    counters: tuple[Counter, ...]
    in_redis: bool


def address_key(address: str | None) -> str:
    """An IPv6 client is keyed on its /64 (what one subscriber gets), an IPv4 one on itself."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address) + "/64"
    return str(ip)


async def take(
    tenant_id: UUID, counters: Sequence[Counter], window_seconds: float, *, fallback: bool
) -> Hit:
    """Counts one hit on every counter, or none when one of them is full (raises Limited).
    Without Redis: PostgreSQL counters when `fallback`, else Unavailable."""
    window_ms = max(1, int(window_seconds * 1000))
    try:
        client = async_redis()
        wait_ms = await _script(client, _TAKE)(
            keys=[c.key for c in counters], args=[window_ms, *(c.allowed for c in counters)]
        )
    except RedisError as e:
        if not fallback:
            log.warning("rate limit unavailable (Redis): refusing the attempt")
            raise Unavailable from e
        log.warning("rate limit counted in PostgreSQL (Redis unavailable)")
        await _take_in_db(tenant_id, counters, window_seconds)
        return Hit(tenant_id, tuple(counters), in_redis=False)
    if int(wait_ms) > 0:
        raise Limited(int(wait_ms) / 1000)
    return Hit(tenant_id, tuple(counters), in_redis=True)


async def give_back(hit: Hit, *, reset: Sequence[str] = ()) -> None:
    """Returns the hit on every counter except those in `reset`, which start over."""
    back = [c.key for c in hit.counters if c.key not in reset]
    try:
        if hit.in_redis:
            client = async_redis()
            if back:
                await _script(client, _GIVE_BACK)(keys=back, args=[])
            if reset:
                await client.delete(*reset)
            return
    except RedisError:
        log.warning("could not give a rate-limit hit back (Redis)")
        return
    async with tenant_transaction(hit.tenant_id) as session:
        if back:
            await session.execute(
                text("UPDATE rate_counter SET hits = hits - 1 WHERE tenant_id = :t AND key = ANY(:k) AND hits > 0"),
                {"t": hit.tenant_id, "k": back},
            )
        if reset:
            await session.execute(
                text("DELETE FROM rate_counter WHERE tenant_id = :t AND key = ANY(:k)"),
                {"t": hit.tenant_id, "k": list(reset)},
            )


# One row per counter; a row locked by the upsert serialises concurrent attempts on it. Keys are
# taken in sorted order so two attempts sharing two counters cannot deadlock.
_DB_TAKE = text("""
INSERT INTO rate_counter AS c (tenant_id, key, hits, window_ends)
VALUES (:t, :k, 1, clock_timestamp() + make_interval(secs => :w))
ON CONFLICT (tenant_id, key) DO UPDATE SET
  hits = CASE WHEN c.window_ends <= clock_timestamp() THEN 1 ELSE c.hits + 1 END,
  window_ends = CASE WHEN c.window_ends <= clock_timestamp() THEN excluded.window_ends ELSE c.window_ends END
WHERE c.window_ends <= clock_timestamp() OR c.hits < :allowed
RETURNING hits
""")


class _Full(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


async def _take_in_db(tenant_id: UUID, counters: Sequence[Counter], window_seconds: float) -> None:
    try:
        async with tenant_transaction(tenant_id) as session:
            if random.random() < 0.02:  # noqa: S311 - housekeeping, not security
                await session.execute(
                    text("DELETE FROM rate_counter WHERE tenant_id = :t AND window_ends < clock_timestamp()"),
                    {"t": tenant_id},
                )
            for c in sorted(counters, key=lambda c: c.key):
                row = (
                    await session.execute(
                        _DB_TAKE, {"t": tenant_id, "k": c.key, "w": window_seconds, "allowed": c.allowed}
                    )
                ).first()
                if row is None:
                    raise _Full(c.key)  # rolls back the hits taken on the other counters
    except _Full as full:
        async with tenant_transaction(tenant_id) as session:
            left = (
                await session.execute(
                    text(
                        "SELECT extract(epoch FROM window_ends - clock_timestamp()) FROM rate_counter"
                        " WHERE tenant_id = :t AND key = :k"
                    ),
                    {"t": tenant_id, "k": full.key},
                )
            ).scalar()
        raise Limited(max(1.0, math.ceil(float(left or 1)))) from None
