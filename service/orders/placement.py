"""orderPlace: the input's shape is checked here; the rest is one statement, the `place_order()`
function (migrations 0008, 0009), which refuses by raising so nothing half-written can stay.

The order of work in it matters:
1. the customer's account is read (missing, disabled or not a customer: refused) and the
   idempotency key looked up: a used key replays its first order, or is INVALID with another body;
2. the batch's gate is passed (shared) and its row read FOR SHARE: closing or cancelling a batch
   takes the gate exclusively and UPDATEs the row, so they wait for in-flight orders, and no
   order can start after they began (see `service.batches.locks`);
3. the pickup point and the offers are checked, every error gathered;
4. the order row is inserted first: its unique (tenant, customer, idempotency key) index makes a
   concurrent retry of the same request wait here, then find the first order — it never reserves;
5. its lines and its ORDER_PLACED event follow, then per-customer quantities and stock are
   reserved in offer-id order, each with one conditional statement (the lock order of every
   release, `stock.give_back`). Stock comes last so the hot offer row is locked only until the
   commit;
6. the cutoff is checked with the database clock after the last lock wait: by the function
   itself when it runs alone (nothing but the commit follows), else by the deferred trigger at the
   caller's commit; either refusal becomes BATCH_NOT_OPEN.

`place_order_alone` runs the statement on its own connection in autocommit: the statement is the
whole transaction, one round trip. `place_order` runs it inside the caller's transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any
from uuid import UUID

import psycopg
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.attributes import manager_of_class

from service.accounts.models import PaymentMode
from service.accounts.roles import account_gone, token_expired
from service.db import execute_prepared, execute_prepared_rows
from service.errors import Collector, ErrorCode, FieldError, PermissionDenied, UserErrors, fail
from service.i18n import msg
from service.memo import MISSING, ByIdentity
from service.orders.models import Order, OrderStatus
from service.orders.numbers import new_pickup_code, next_order_number, take_order_number
from service.tenants.principal import TenantInfo

MAX_LINE_QUANTITY = 10_000
MAX_LINES = 100
BATCH_CLOSED_SQLSTATE = "GB001"  # raised by the order_cutoff_check() trigger
REFUSED_SQLSTATE = "GB002"  # place_order(): DETAIL is the JSON list of errors
ACCOUNT_GONE_SQLSTATE = "GB003"
NOT_A_CUSTOMER_SQLSTATE = "GB004"
TOKEN_EXPIRED_SQLSTATE = "GB005"  # the token is older than the account's last password change
NOT_A_CUSTOMER = "Only customers place and cancel orders."
# Prices are capped (service/validation.py MAX_MONEY) so an order's total fits bigint; an offer priced
# before the cap can still overflow it, and that is the customer's input too large, not a fault.
NUMERIC_OVERFLOW_SQLSTATE = "22003"


@dataclass(frozen=True)
class LineSpec:
    offer_id: UUID | None  # None: the client's ID was not an Offer ID
    quantity: int


@dataclass(frozen=True)
class Placed:
    order_id: UUID
    replayed: bool  # True: the idempotency key had been used; this is the first order
    order: Order  # the row as written (or the first order's)


# The same batch, points, offers, tenant and customers come back order after order, and
# str(UUID) formats anew each time.
_uuid_text = lru_cache(maxsize=16384)(str)


def request_hash(batch_id: UUID | None, pickup_point_id: UUID | None, lines: Sequence[LineSpec]) -> str:
    """SHA-256 of the request's canonical JSON: `json.dumps({"batch", "point", "lines": sorted
    [offer, quantity] pairs}, sort_keys=True)`, written out directly (3.0 µs against 4.9). The
    bytes must never change: stored hashes are compared with a retry's."""
    pairs = ", ".join(f'["{offer}", {quantity}]' for offer, quantity in
                      sorted((_text_or_none(line.offer_id), int(line.quantity)) for line in lines))
    body = f'{{"batch": "{_text_or_none(batch_id)}", "lines": [{pairs}], "point": "{_text_or_none(pickup_point_id)}"}}'
    return hashlib.sha256(body.encode()).hexdigest()


def _text_or_none(value: UUID | None) -> str:
    return "None" if value is None else _uuid_text(value)


def clean(
    batch_id: UUID | None, pickup_point_id: UUID | None, lines: Sequence[LineSpec], idempotency_key: str
) -> None:
    """The input's shape, before any database work; raises UserErrors."""
    errors = Collector()
    if not idempotency_key.strip() or len(idempotency_key) > 200:
        errors.add(ErrorCode.INVALID, "Give an idempotency key of 1 to 200 characters.", ["idempotencyKey"])
    if batch_id is None:
        errors.add(ErrorCode.NOT_FOUND, "No such batch.", ["batchId"])
    if pickup_point_id is None:
        errors.add(ErrorCode.NOT_FOUND, "No such pickup point.", ["pickupPointId"])
    if not lines:
        errors.add(ErrorCode.INVALID, "An order needs at least one line.", ["lines"])
    elif len(lines) > MAX_LINES:
        errors.add(ErrorCode.INVALID, msg("orders.max_lines", max=MAX_LINES), ["lines"])
    seen: set[UUID] = set()
    for i, line in enumerate(lines):
        if line.offer_id is None:
            errors.add(ErrorCode.NOT_FOUND, "No such offer in this batch.", ["lines", str(i), "offerId"])
        elif line.offer_id in seen:
            errors.add(
                ErrorCode.INVALID, "This offer is already in another line.", ["lines", str(i), "offerId"]
            )
        else:
            seen.add(line.offer_id)
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            errors.add(
                ErrorCode.INVALID,
                msg("orders.quantity_range", max=MAX_LINE_QUANTITY),
                ["lines", str(i), "quantity"],
            )
    errors.raise_if_any()


_ARGUMENTS = (
    "CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid[]), "
    "CAST({} AS int[]), CAST({} AS text), CAST({} AS text), CAST({} AS text), CAST({} AS text), "
    "CAST({} AS text), CAST({} AS text), CAST({} AS numeric), CAST({} AS boolean), CAST({} AS boolean), "
    "CAST({} AS int)"
)
_NAMES = ("t", "customer", "batch", "point", "offers", "quantities", "key", "hash", "number", "code",
          "status", "currency", "rate", "check", "alone", "version")
_PLACE = "SELECT r.replayed, (r.placed).* FROM place_order({}) AS r"
_PLACE_DRIVER_SQL = _PLACE.format(_ARGUMENTS.format(*(f"${i}" for i in range(1, len(_NAMES) + 1)))).encode()
_PLACE_TEXT = text(_PLACE.format(_ARGUMENTS.format(*(f":{n}" for n in _NAMES))))


def _arguments(
    tenant: TenantInfo,
    customer_id: UUID,
    batch_id: UUID | None,
    pickup_point_id: UUID | None,
    lines: Sequence[LineSpec],
    idempotency_key: str,
    number: str,
    check_customer: bool,
    alone: bool,
    token_version: int | None = None,
) -> tuple[Any, ...]:
    status = OrderStatus.PENDING_PAYMENT if tenant.payment_mode is PaymentMode.PREPAID else OrderStatus.PLACED
    return (
        tenant.id, customer_id, batch_id, pickup_point_id, [line.offer_id for line in lines],
        [line.quantity for line in lines], idempotency_key, request_hash(batch_id, pickup_point_id, lines),
        number, new_pickup_code(), status.value, tenant.currency, tenant.default_commission_rate, check_customer,
        alone, token_version,
    )


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, UUID):
        return _uuid_text(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):  # of UUIDs or ints: no element needs quoting
        return "{" + ",".join(_uuid_text(v) if isinstance(v, UUID) else str(v) for v in value) + "}"
    return str(value)


def _refusal(error: BaseException | None) -> Exception | None:
    """What a refusal raised by place_order() or the cutoff trigger means; None: not a refusal."""
    state = getattr(error, "sqlstate", None)
    detail = None
    if state == REFUSED_SQLSTATE and isinstance(error, psycopg.Error):
        detail = error.diag.message_detail
    return _refusal_of(state, detail)


def refusal_of_error(error: BaseException | None) -> Exception | None:
    """`_refusal` for callers placing inside their own transaction (a 拼团 order paid at pickup)."""
    return _refusal(error)


# place_order() formats these refusals with a number (service/orders/sql/place_order.sql): read back as
# their catalog messages, so they are translated; the English stays the same.
_FORMATTED = [(re.compile(r"At most (-?\d+) per customer\."), "orders.per_customer", "limit"),
              (re.compile(r"At most (-?\d+) per customer, counting your other orders\."), "orders.per_customer_total",
               "limit"),
              (re.compile(r"Only (-?\d+) left\."), "orders.only_left", "left")]


def _sql_message(text: str) -> str:
    for pattern, id, name in _FORMATTED:
        if (m := pattern.fullmatch(text)) is not None:
            return msg(id, **{name: int(m.group(1))})
    return text


def _refusal_of(state: str | None, detail: str | None) -> Exception | None:
    if state == REFUSED_SQLSTATE:
        found = json.loads(detail or "[]")
        return UserErrors([FieldError(ErrorCode(e["code"]), _sql_message(e["message"]), e["field"]) for e in found])
    if state == BATCH_CLOSED_SQLSTATE:
        return fail(ErrorCode.BATCH_NOT_OPEN, "The batch closed before the order went through.", ["batchId"])
    if state == ACCOUNT_GONE_SQLSTATE:
        return account_gone()
    if state == NOT_A_CUSTOMER_SQLSTATE:
        return PermissionDenied(NOT_A_CUSTOMER)
    if state == TOKEN_EXPIRED_SQLSTATE:
        return token_expired()
    if state == NUMERIC_OVERFLOW_SQLSTATE:
        return fail(ErrorCode.INVALID, "The order's total is too large: order fewer units.", ["lines"])
    return None


_ORDER_FIELDS = frozenset(Order.model_fields)
_order_class = manager_of_class(Order)


# A result's column names (one list per prepared statement and connection) -> the order's fields
# among them and a getter of their values, so a row is not sifted name by name.
_columns: ByIdentity[tuple[tuple[str, ...], Any]] = ByIdentity(256)


def _order_columns(names: Sequence[str], replayed_at: int) -> tuple[tuple[str, ...], Any]:
    found = _columns.get(names)
    if found is MISSING:
        keep = [i for i in range(replayed_at + 1, len(names)) if names[i] in _ORDER_FIELDS]
        getter = itemgetter(*keep) if len(keep) > 1 else (lambda row: tuple(row[i] for i in keep))
        found = _columns.put(names, (tuple(names[i] for i in keep), getter))
    return found


def _placed(names: Sequence[str], row: Sequence[Any], replayed_at: int = 0) -> Placed:
    # Built the way the ORM builds a row it loads, without __init__'s validation (~90 µs -> ~6 µs);
    # that path does not configure the mappers, which the first query or __init__ would have.
    if not _order_class.mapper.configured:
        configure_mappers()
    order = _order_class.new_instance()
    fields, values = _order_columns(names, replayed_at)
    order.__dict__.update(zip(fields, values(row), strict=True))
    return Placed(order_id=order.id, replayed=bool(row[replayed_at]), order=order)


async def place_order_alone(
    conn: psycopg.AsyncConnection[Any],
    *,
    tenant: TenantInfo,
    customer_id: UUID,
    batch_id: UUID | None,
    pickup_point_id: UUID | None,
    lines: Sequence[LineSpec],
    idempotency_key: str,
    check_customer: bool = True,
    token_version: int | None = None,
) -> Placed:
    """Places and commits: `conn` is a psycopg connection in autocommit, so the statement is the
    order's whole transaction. `check_customer`: refuse an account that is missing, disabled
    (AuthError) or not a customer's (PermissionDenied); with `token_version`, also a token older
    than the account's last password change (AuthError): the whole check a request makes."""
    clean(batch_id, pickup_point_id, lines, idempotency_key)
    number = await take_order_number(conn, tenant.id)
    # alone: this statement is the transaction, so place_order() makes the commit-time cutoff check.
    arguments = _arguments(tenant, customer_id, batch_id, pickup_point_id, lines, idempotency_key, number,
                           check_customer, True, token_version)
    try:
        # As text: every parameter is cast in the statement, and text skips the driver's search
        # for a dumper per value and per array element.
        names, row = await execute_prepared(conn, b"groupbuy_place_order", _PLACE_DRIVER_SQL,
                                            [_text(a) for a in arguments])
    except psycopg.Error as e:
        refusal = _refusal(e)
        if refusal is None:
            raise
        raise refusal from None
    assert row is not None
    return _placed(names, row)


async def place_order(
    session: AsyncSession,
    *,
    tenant: TenantInfo,
    customer_id: UUID,
    batch_id: UUID | None,
    pickup_point_id: UUID | None,
    lines: Sequence[LineSpec],
    idempotency_key: str,
) -> Placed:
    """The same inside the caller's transaction, under a savepoint (a refusal undoes this order
    only). Leaves the order uncommitted: the cutoff is checked when the caller commits."""
    clean(batch_id, pickup_point_id, lines, idempotency_key)
    number = await next_order_number(session, tenant.id)
    arguments = _arguments(tenant, customer_id, batch_id, pickup_point_id, lines, idempotency_key, number,
                           False, False)
    try:
        async with session.begin_nested():
            result = await session.execute(_PLACE_TEXT, dict(zip(_NAMES, arguments, strict=True)))
            row = result.one()
    except DBAPIError as e:
        refusal = _refusal(e.orig)
        if refusal is None:
            raise
        raise refusal from None
    return _placed(list(result.keys()), row)


@dataclass(slots=True)
class OrderRequest:
    """One customer's orderPlace, its input already `clean`."""

    customer_id: UUID
    pickup_point_id: UUID | None
    lines: Sequence[LineSpec]
    idempotency_key: str
    token_version: int | None = None  # the caller's token: place_order() checks the account with it


@dataclass(frozen=True, slots=True)
class Extras:
    """What an order takes beside its lines, any combination: all applied by place_order_extras()
    in the order's own statement (service/orders/sql/place_order_extras.sql)."""

    coupon_id: UUID | None = None
    share_code: str | None = None
    group_buy_id: UUID | None = None  # 拼团: join this group...
    start_group: bool = False  # ...or start a new one
    hold_minutes: int = 0  # 拼团: how long an unpaid joiner holds a place (the payment window)

    @property
    def group(self) -> bool:
        return self.group_buy_id is not None or self.start_group


_EXTRAS_ARGUMENTS = (
    "CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid), CAST({} AS uuid[]), "
    "CAST({} AS int[]), CAST({} AS text), CAST({} AS text), CAST({} AS text), CAST({} AS text), "
    "CAST({} AS text), CAST({} AS text), CAST({} AS numeric), CAST({} AS boolean), CAST({} AS int), "
    "CAST({} AS uuid), CAST({} AS text), CAST({} AS uuid), CAST({} AS boolean), CAST({} AS int)"
)
_EXTRAS_NAMES = ("t", "customer", "batch", "point", "offers", "quantities", "key", "hash", "number", "code",
                 "status", "currency", "rate", "alone", "version", "coupon", "share", "group", "start", "hold")
_PLACE_EXTRAS = "SELECT r.replayed, (r.placed).* FROM place_order_extras({}) AS r"
_PLACE_EXTRAS_DRIVER_SQL = _PLACE_EXTRAS.format(
    _EXTRAS_ARGUMENTS.format(*(f"${i}" for i in range(1, len(_EXTRAS_NAMES) + 1)))).encode()
_PLACE_EXTRAS_TEXT = text(_PLACE_EXTRAS.format(_EXTRAS_ARGUMENTS.format(*(f":{n}" for n in _EXTRAS_NAMES))))


def _extras_arguments(tenant: TenantInfo, batch_id: UUID | None, request: OrderRequest, extras: Extras,
                      number: str, alone: bool) -> tuple[Any, ...]:
    status = OrderStatus.PENDING_PAYMENT if tenant.payment_mode is PaymentMode.PREPAID else OrderStatus.PLACED
    return (
        tenant.id, request.customer_id, batch_id, request.pickup_point_id, [line.offer_id for line in request.lines],
        [line.quantity for line in request.lines], request.idempotency_key,
        request_hash(batch_id, request.pickup_point_id, request.lines), number, new_pickup_code(), status.value,
        tenant.currency, tenant.default_commission_rate, alone, request.token_version,
        extras.coupon_id, extras.share_code, extras.group_buy_id, extras.start_group, extras.hold_minutes,
    )


async def place_extras_alone(conn: psycopg.AsyncConnection[Any], *, tenant: TenantInfo, batch_id: UUID | None,
                             request: OrderRequest, extras: Extras) -> Placed:
    """An order with its extras, placed and committed by one statement (`conn` in autocommit),
    which checks the account as `place_order_alone` does (with `request.token_version`)."""
    clean(batch_id, request.pickup_point_id, request.lines, request.idempotency_key)
    number = await take_order_number(conn, tenant.id)
    arguments = _extras_arguments(tenant, batch_id, request, extras, number, True)
    try:
        names, row = await execute_prepared(conn, b"groupbuy_place_order_extras", _PLACE_EXTRAS_DRIVER_SQL,
                                            [_text(a) for a in arguments])
    except psycopg.Error as e:
        refusal = _refusal(e)
        if refusal is None:
            raise
        raise refusal from None
    assert row is not None
    return _placed(names, row)


async def place_extras(session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID | None, request: OrderRequest,
                       extras: Extras) -> Placed:
    """The same inside the caller's transaction, for work that must follow in it (a 拼团 order
    paid at pickup counts as paid at once); uncommitted: the cutoff is checked when the caller
    commits. A refusal raises it; the caller's transaction is then to be rolled back."""
    clean(batch_id, request.pickup_point_id, request.lines, request.idempotency_key)
    number = await next_order_number(session, tenant.id)
    arguments = _extras_arguments(tenant, batch_id, request, extras, number, False)
    try:
        result = await session.execute(_PLACE_EXTRAS_TEXT, dict(zip(_EXTRAS_NAMES, arguments, strict=True)))
        row = result.one()
    except DBAPIError as e:
        refusal = _refusal(e.orig)
        if refusal is None:
            raise
        raise refusal from None
    return _placed(list(result.keys()), row)


# place_order_group(): each order as place_order() alone would place it, the group committed at once.
_PLACE_MANY_DRIVER_SQL = (
    b"SELECT r.n, r.error_state, r.error_detail, r.replayed, (r.placed).* FROM place_order_group("
    b"CAST($1 AS uuid), CAST($2 AS uuid), CAST($3 AS uuid[]), CAST($4 AS uuid[]), CAST($5 AS int[]), "
    b"CAST($6 AS uuid[]), CAST($7 AS int[]), CAST($8 AS text[]), CAST($9 AS text[]), CAST($10 AS text[]), "
    b"CAST($11 AS text[]), CAST($12 AS text), CAST($13 AS text), CAST($14 AS numeric), CAST($15 AS int), "
    b"CAST($16 AS int[])) AS r"
)
_REPLAYED_AT = 3  # n, error_state, error_detail, replayed, the order's columns


def _text_array(values: Sequence[str]) -> str:
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


async def place_orders_together(
    conn: psycopg.AsyncConnection[Any],
    *,
    tenant: TenantInfo,
    batch_id: UUID,
    requests: Sequence[OrderRequest],
    lock_wait_ms: int,
) -> list[Placed | Exception | None]:
    """Places the orders of one batch with one statement, committed together (`conn` in
    autocommit), in the order given: their offers must never go down from one order to the next
    (`lock_order`). Per order: what was placed, the refusal to raise, or None when it was given up
    and must be placed alone (`place_order_alone`) now that the group has committed. Raises when
    the whole statement failed (nothing of it stays; then every order is to be placed alone)."""
    numbers = [await take_order_number(conn, tenant.id) for _ in requests]
    status = OrderStatus.PENDING_PAYMENT if tenant.payment_mode is PaymentMode.PREPAID else OrderStatus.PLACED
    lines = [line for request in requests for line in request.lines]
    params = [
        _uuid_text(tenant.id), _uuid_text(batch_id),
        _text([request.customer_id for request in requests]),
        "{" + ",".join("NULL" if r.pickup_point_id is None else _uuid_text(r.pickup_point_id) for r in requests) + "}",
        _text([len(request.lines) for request in requests]),
        _text([line.offer_id for line in lines]),
        _text([line.quantity for line in lines]),
        _text_array([request.idempotency_key for request in requests]),
        _text_array([request_hash(batch_id, r.pickup_point_id, r.lines) for r in requests]),
        _text_array(numbers),
        _text_array([new_pickup_code() for _ in requests]),
        status.value, tenant.currency, str(tenant.default_commission_rate), str(lock_wait_ms),
        "{" + ",".join("NULL" if r.token_version is None else str(r.token_version) for r in requests) + "}",
    ]
    names, rows = await execute_prepared_rows(conn, b"groupbuy_place_order_group", _PLACE_MANY_DRIVER_SQL, params)
    outcomes: list[Placed | Exception | None] = [None] * len(requests)
    for row in rows:
        state = row[1]
        if state is None:
            outcomes[row[0] - 1] = _placed(names, row, _REPLAYED_AT)
        elif state != BATCH_CLOSED_SQLSTATE:  # past the cutoff: alone, it is checked with the commit
            outcomes[row[0] - 1] = _refusal_of(state, row[2])
    return outcomes


def lock_order(request: OrderRequest) -> tuple[UUID, UUID]:
    """(lowest offer, highest offer): a group's orders follow each other when each one's lowest
    is at least every earlier one's highest."""
    offers = [line.offer_id for line in request.lines if line.offer_id is not None]
    return min(offers), max(offers)
