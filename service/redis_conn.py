"""The Redis connection used by the API (rate limits); dramatiq has its own in service.tasks."""

from __future__ import annotations

import redis.asyncio as aioredis

from service.config import get_settings

_clients: dict[str, aioredis.Redis] = {}


def redis_url() -> str:
    url = get_settings().redis_url
    if not url:
        raise RuntimeError("REDIS_URL is not set (groupbuy run starts an embedded Redis)")
    return url


def async_redis() -> aioredis.Redis:
    if "async" not in _clients:
        _clients["async"] = aioredis.Redis.from_url(
            redis_url(), socket_timeout=2, socket_connect_timeout=2, health_check_interval=30
        )
    return _clients["async"]


async def close_redis() -> None:
    for client in list(_clients.values()):
        await client.aclose()
    _clients.clear()
