"""Order numbers, purchase-order numbers and pickup codes.

Each tenant counts its own numbers (table number_counter, one row per tenant and kind), so a
number says nothing about other tenants, and each counter has its own key: 32 random bytes made
by the database with the row, never in the source. A number is the counter's value passed
through a 40-bit Feistel permutation keyed with that key, so numbers look unrelated and say
nothing about the tenant's volume either, then written in Crockford base32: 'GB' + 8 characters.
Purchase-order numbers look nothing like them, so neither is taken for the other across a
counter or on the phone: 'PO-' + 8 digits in two groups of four (PO-3815-0472), read aloud as
digits; the counter's value passes through a permutation of [0, 10**8) (a 28-bit Feistel
permutation, walked again until it falls below 10**8). A permutation of distinct values is
distinct, so numbers are unique (the unique indexes on (tenant_id, number) stay as a guard).
Numbers issued before in the old purchase-order form (PO + 8 characters) stay as they are.

A process takes a tenant's order numbers a block at a time (one round trip per block, not per
order; values a process never uses are only gaps), each block in a statement of its own: the
counter row is locked for that statement only, and tenants never meet. A tenant that had numbers
of the old platform-wide scheme (migration 0014) skips a new number equal to an old one.

Pickup codes are 6 random digits from the OS's CSPRNG; uniqueness among a batch's orders at one
pickup point is the unique index's job: place_order() draws another code on a collision.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from service.db import app_url, libpq_url

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_HALF_BITS = 20
_HALF_MASK = (1 << _HALF_BITS) - 1
_ROUNDS = 8
_ROUND_BYTES = [bytes([r]) for r in range(_ROUNDS)]
PICKUP_CODE_DIGITS = 6
PREFIXES = {"order": "GB", "purchase_order": "PO"}


def _keyed(key: bytes) -> Any:
    """The keyed hash with its key block already absorbed: a copy per round costs less than
    keying anew; the digests are the same."""
    if not 16 <= len(key) <= 64:
        raise ValueError("a number key has 16 to 64 bytes")
    return hashlib.blake2b(key=key, digest_size=4)


def _permute(value: int, keyed: Any) -> int:
    left, right = value >> _HALF_BITS, value & _HALF_MASK
    for r in range(_ROUNDS):
        h = keyed.copy()
        h.update(right.to_bytes(4, "big") + _ROUND_BYTES[r])
        left, right = right, left ^ (int.from_bytes(h.digest(), "big") & _HALF_MASK)
    return (left << _HALF_BITS) | right


def permute(value: int, key: bytes) -> int:
    """A bijection on [0, 2**40), chosen by `key`."""
    return _permute(value, _keyed(key))


def _render(scrambled: int, prefix: str) -> str:
    chars = []
    for _ in range(8):
        chars.append(_ALPHABET[scrambled & 31])
        scrambled >>= 5
    return prefix + "".join(reversed(chars))


PO_NUMBERS = 10**8
_PO_HALF_BITS = 14
_PO_HALF_MASK = (1 << _PO_HALF_BITS) - 1


def _permute_po(value: int, keyed: Any) -> int:
    """A bijection on [0, 10**8): a 28-bit Feistel permutation applied again while the result is
    10**8 or more (cycle walking; 37% of 2**28 is below, so a few steps at most on average)."""
    if not 0 <= value < PO_NUMBERS:
        raise ValueError("a tenant's purchase-order counter has run past 10**8")
    while True:
        left, right = value >> _PO_HALF_BITS, value & _PO_HALF_MASK
        for r in range(_ROUNDS):
            h = keyed.copy()
            h.update(right.to_bytes(4, "big") + _ROUND_BYTES[r] + b"po")
            left, right = right, left ^ (int.from_bytes(h.digest(), "big") & _PO_HALF_MASK)
        value = (left << _PO_HALF_BITS) | right
        if value < PO_NUMBERS:
            return value


def _render_po(scrambled: int) -> str:
    digits = f"{scrambled:08d}"
    return f"PO-{digits[:4]}-{digits[4:]}"


def format_number(value: int, key: bytes, prefix: str = "GB") -> str:
    if prefix == PREFIXES["purchase_order"]:
        return _render_po(_permute_po(value, _keyed(key)))
    return _render(permute(value, key), prefix)


def format_numbers(first: int, last: int, key: bytes, prefix: str) -> list[str]:
    keyed = _keyed(key)
    if prefix == PREFIXES["purchase_order"]:
        return [_render_po(_permute_po(v, keyed)) for v in range(first, last + 1)]
    return [_render(_permute(v, keyed), prefix) for v in range(first, last + 1)]


NUMBER_BLOCK = 64
_BLOCK_SQL = "SELECT last_value, key, legacy FROM number_block(%s, %s, %s)"
_TAKEN_SQL = "SELECT numbers_taken(%s, %s, %s)"
# Blocks not used up yet, per (tenant, kind), least recently drawn first; bounded (a block
# dropped is only a gap). A forked child drops its parent's: the two would hand out the same.
_MAX_BLOCKS = 1024
_blocks: OrderedDict[tuple[UUID, str], list[str]] = OrderedDict()
os.register_at_fork(after_in_child=_blocks.clear)


def _numbers_of(row: Any, count: int, kind: str) -> list[str]:
    last, key, _ = row
    return format_numbers(int(last) - count + 1, int(last), bytes(key), PREFIXES[kind])


async def _draw_on_driver(conn: Any, tenant_id: UUID, kind: str, count: int) -> list[str]:
    """`count` new numbers (fewer when old ones are skipped) on a psycopg AsyncConnection in
    autocommit."""
    cursor = await conn.execute(_BLOCK_SQL, (tenant_id, kind, count), prepare=True)
    row = await cursor.fetchone()
    numbers = _numbers_of(row, count, kind)
    if row[2]:
        cursor = await conn.execute(_TAKEN_SQL, (tenant_id, kind, numbers), prepare=True)
        taken = {r[0] for r in await cursor.fetchall()}
        numbers = [n for n in numbers if n not in taken]
    return numbers


async def _draw_alone(session: AsyncSession, tenant_id: UUID, kind: str, count: int) -> list[str]:
    """The same for a caller inside a transaction, on a connection of its own in autocommit: not in
    the caller's transaction (the tenant's counter would stay locked until it commits), nor from
    its pool (callers holding every connection of it would wait for one more forever)."""
    bind = session.bind
    url = bind.url if isinstance(bind, AsyncEngine) else make_url(app_url())
    async with await psycopg.AsyncConnection.connect(libpq_url(url.render_as_string(hide_password=False)),
                                                     autocommit=True) as conn:
        return await _draw_on_driver(conn, tenant_id, kind, count)


def _from_block(tenant_id: UUID, kind: str) -> str | None:
    block = _blocks.get((tenant_id, kind))
    try:
        return block.pop() if block is not None else None
    except IndexError:  # used up (another thread's event loop may have taken the last one)
        return None


def _keep_block(tenant_id: UUID, kind: str, numbers: list[str]) -> None:
    block = _blocks.setdefault((tenant_id, kind), [])
    block[:0] = reversed(numbers)  # popped from the end: in counter order
    _blocks.move_to_end((tenant_id, kind))
    while len(_blocks) > _MAX_BLOCKS:
        _blocks.popitem(last=False)


async def take_order_number(conn: Any, tenant_id: UUID) -> str:
    """The next order number of this process's block for the tenant, drawing a new block on
    `conn` (a psycopg AsyncConnection in autocommit) when it is empty."""
    while (number := _from_block(tenant_id, "order")) is None:
        _keep_block(tenant_id, "order", await _draw_on_driver(conn, tenant_id, "order", NUMBER_BLOCK))
    return number


async def next_order_number(session: AsyncSession, tenant_id: UUID) -> str:
    """An order number for a caller inside a transaction: the block is drawn outside it."""
    while (number := _from_block(tenant_id, "order")) is None:
        numbers = await _draw_alone(session, tenant_id, "order", NUMBER_BLOCK)
        _keep_block(tenant_id, "order", numbers)
    return number


async def purchase_order_numbers(session: AsyncSession, tenant_id: UUID, count: int) -> list[str]:
    """`count` purchase-order numbers (a close's), drawn outside the caller's transaction."""
    numbers: list[str] = []
    while len(numbers) < count:
        numbers += await _draw_alone(session, tenant_id, "purchase_order", count - len(numbers))
    return numbers


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
