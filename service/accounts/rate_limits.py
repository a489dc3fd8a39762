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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from service.db import run_alone
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

def _script(client: Redis, source: str) -> AsyncScript:
    # EVALSHA, loading the script on NOSCRIPT; made per call (a SHA-1 of a few hundred bytes), so
    # it never outlives the client it was made with.
    return client.register_script(source)


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

    async def statement(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("SELECT rate_counter_give_back(%s, %s, %s)", (hit.tenant_id, back, list(reset)))

    await run_alone(statement)


async def _take_in_db(tenant_id: UUID, counters: Sequence[Counter], window_seconds: float) -> None:
    # On the driver connections (run_alone), not the request's pool: a request holding its session
    # while it waits for a second connection could exhaust that pool during an outage.
    ordered = sorted(counters, key=lambda c: c.key)

    async def statement(conn: psycopg.AsyncConnection[Any]) -> float:
        cursor = await conn.execute(
            "SELECT rate_counter_take(%s, %s, %s, %s)",
            (tenant_id, [c.key for c in ordered], [c.allowed for c in ordered], float(window_seconds)),
        )
        row = await cursor.fetchone()
        assert row is not None
        return float(row[0])

    left = await run_alone(statement)
    if left > 0:
        raise Limited(max(1.0, math.ceil(left)))
