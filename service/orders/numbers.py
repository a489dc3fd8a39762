"""Order numbers and pickup codes.

Order numbers come from one database sequence (no lock: concurrent orders never queue on a
counter row), drawn by each process a block at a time (one round trip per block, not per
order; values a process never uses are only gaps), passed through a fixed 40-bit Feistel
permutation so they look unrelated and say nothing about a tenant's volume, then written in
Crockford base32: 'GB' + 8 characters. A permutation of distinct sequence values is distinct,
so numbers are unique (the unique index on (tenant_id, number) stays as a guard).

Pickup codes are 6 random digits from the OS's CSPRNG; uniqueness among a batch's orders at one
pickup point is the unique index's job: place_order() draws another code on a collision.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HALF_BITS = 20
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 4
# Fixed forever: changing it would let new numbers collide with old ones.
_KEY = b"groupbuy-order-number-v1"
PICKUP_CODE_DIGITS = 6


# The keyed hash with its key block already absorbed: a copy per round costs less than keying
# anew (0.55 µs against 0.89); the digests are the same.
_KEYED = hashlib.blake2b(key=_KEY, digest_size=4)
_ROUND_BYTES = [bytes([r]) for r in range(_ROUNDS)]


def _round(value: int, round_no: int) -> int:
    h = _KEYED.copy()
    h.update(value.to_bytes(4, "big") + _ROUND_BYTES[round_no])
    return int.from_bytes(h.digest(), "big") & _HALF_MASK


def permute(value: int) -> int:
    """A bijection on [0, 2**40)."""
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for r in range(_ROUNDS):
        left, right = right, left ^ _round(right, r)
    return (left << _HALF_BITS) | right


def format_number(value: int, prefix: str = "GB") -> str:
    scrambled = permute(value)
    chars = []
    for _ in range(8):
        chars.append(_ALPHABET[scrambled & 31])
        scrambled >>= 5
    return prefix + "".join(reversed(chars))


async def next_order_number(session: AsyncSession) -> str:
    value = (await session.execute(text("SELECT nextval('order_number_seq')"))).scalar_one()
    return format_number(int(value))


NUMBER_BLOCK = 64
_BLOCK_SQL = "SELECT nextval('order_number_seq') FROM generate_series(1, %s)"
_block: list[int] = []
_block_pid = 0


async def take_order_number(conn: Any) -> str:
    """The next number of this process's block, drawing a new block on `conn` (a psycopg
    AsyncConnection) when it is empty. A forked process drops its parent's block: each sequence
    value is used by one process only, so numbers stay unique."""
    global _block_pid
    if _block_pid != os.getpid():
        _block.clear()
        _block_pid = os.getpid()
    while not _block:
        cursor = await conn.execute(_BLOCK_SQL, (NUMBER_BLOCK,), prepare=True)
        rows = await cursor.fetchall()
        _block.extend(int(row[0]) for row in reversed(rows))
    return format_number(_block.pop())


# Bytes from the OS's CSPRNG not used yet, and where the next code starts: read 3 KiB at a time
# (secrets.randbelow asked the OS once per code). A forked child drops its parent's: the two
# would otherwise hand out the same codes.
_random: list = [b"", 0]
_RANDOM_READ = 3 * 1024


def _drop_random() -> None:
    _random[:] = [b"", 0]


os.register_at_fork(after_in_child=_drop_random)


def new_pickup_code() -> str:
    """Six uniformly random digits: 20 bits of the CSPRNG, drawn again when 1,000,000 or more."""
    while True:
        data, at = _random
        if at + 3 > len(data):
            data, at = os.urandom(_RANDOM_READ), 0
        _random[0], _random[1] = data, at + 3
        value = int.from_bytes(data[at:at + 3], "big") >> 4
        if value < 10**PICKUP_CODE_DIGITS:
            return f"{value:0{PICKUP_CODE_DIGITS}d}"
