"""Passwords (Argon2), user tokens (JWT bound to one tenant) and API keys (stored hashed)."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from uuid import UUID

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.config import get_settings
from service.errors import AuthError

API_KEY_PREFIX = "gbk_"


@lru_cache
def _hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_kib)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


@lru_cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not the account exists, so timing reveals nothing."""
    try:
        return _hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _lower_priority() -> None:
    # Hashing yields the CPU to the event loop: a flood of sign-ups slows sign-ups, not the rest.
    # (Linux schedules threads one by one, so this niceness is the hashing thread's own.)
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: hashing just keeps its priority
        pass


@lru_cache
def _argon2_pool() -> ThreadPoolExecutor:
    # Bounded: each hash holds argon2_memory_kib while it runs.
    return ThreadPoolExecutor(
        get_settings().argon2_threads, thread_name_prefix="argon2", initializer=_lower_priority
    )


async def hash_password_off_loop(password: str) -> str:
    """hash_password on the Argon2 threads (the C code releases the GIL): the event loop keeps
    serving other requests meanwhile."""
    return await asyncio.get_running_loop().run_in_executor(_argon2_pool(), hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        _argon2_pool(), verify_password, password_hash, password
    )


def issue_user_token(*, tenant_id: UUID, user_id: UUID, version: int = 0) -> str:
    """`version`: the account's token_version; a password change raises it, ending older tokens."""
    s = get_settings()
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": str(user_id), "tid": str(tenant_id), "iat": now, "exp": now + s.token_ttl_seconds
    }
    if version:
        claims["tv"] = version
    return jwt.encode(claims, s.jwt_secret_value, algorithm="HS256")


@dataclass(frozen=True)
class UserClaims:
    tenant_id: UUID
    user_id: UUID
    version: int = 0


def read_user_token(token: str) -> UserClaims:
    try:
        claims = jwt.decode(
            token, get_settings().jwt_secret_value, algorithms=["HS256"], options={"require": ["exp", "sub"]}
        )
        return UserClaims(
            tenant_id=UUID(claims["tid"]), user_id=UUID(claims["sub"]), version=int(claims.get("tv", 0))
        )
    except jwt.ExpiredSignatureError as e:
        raise AuthError("TOKEN_EXPIRED", "The token has expired; sign in again.") from e
    except (jwt.InvalidTokenError, KeyError, ValueError) as e:
        raise AuthError("INVALID_TOKEN", "The token is not valid.") from e


def new_api_key(tenant_id: UUID, key_id: UUID) -> tuple[str, str]:
    """(the key to show once, the hash to store)."""
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}{tenant_id.hex}_{key_id.hex}_{secret}", hash_secret(secret)


def hash_secret(secret: str) -> str:
    # API keys carry 256 bits of entropy: a fast hash is enough and keeps auth cheap.
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_api_key(key: str) -> tuple[UUID, UUID, str]:
    try:
        tenant_hex, key_hex, secret = key[len(API_KEY_PREFIX):].split("_", 2)
        return UUID(hex=tenant_hex), UUID(hex=key_hex), secret
    except ValueError as e:
        raise AuthError("INVALID_API_KEY", "The API key is not valid.") from e


def secrets_equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
