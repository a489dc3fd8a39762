"""orderPlace: validate, claim the idempotency key, reserve every line atomically, commit.

The order of work matters:
1. the batch's gate is passed (shared) and its row read FOR SHARE: closing or cancelling a batch
   takes the gate exclusively and UPDATEs the row, so they wait for in-flight orders, and no
   order can start after they began (see `service.batches.locks`);
2. the order row is inserted first: its unique (tenant, customer, idempotency key) index makes a
   concurrent retry of the same request wait here, then find the first order — it never reserves;
3. its lines and its ORDER_PLACED event follow, then per-customer quantities and stock are
   reserved line by line in offer-id order, each with one conditional statement; any refusal
   rolls the savepoint back: all lines or none. Stock comes last so the hot offer row is locked
   only for the few statements before the commit;
4. `commit_placement` commits, which runs the deferred cutoff trigger with the database clock;
   its refusal becomes BATCH_NOT_OPEN.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import PaymentMode
from service.batches.locks import pass_gate
from service.db import set_tenant
from service.errors import Collector, ErrorCode, fail
from service.notify.outbox import emit
from service.orders.models import OrderStatus
from service.orders.numbers import new_pickup_code, next_order_number
from service.orders.stock import take_customer_quantity, take_stock
from service.tenants.principal import TenantInfo

MAX_LINE_QUANTITY = 10_000
MAX_LINES = 100
PICKUP_CODE_ATTEMPTS = 20
BATCH_CLOSED_SQLSTATE = "GB001"  # raised by the order_cutoff_check() trigger


@dataclass(frozen=True)
class LineSpec:
    offer_id: UUID | None  # None: the client's ID was not an Offer ID
    quantity: int


@dataclass(frozen=True)
class Placed:
    order_id: UUID
    replayed: bool  # True: the idempotency key had been used; this is the first order


def request_hash(batch_id: UUID | None, pickup_point_id: UUID | None, lines: Sequence[LineSpec]) -> str:
    body = {
        "batch": str(batch_id),
        "point": str(pickup_point_id),
        "lines": sorted((str(line.offer_id), line.quantity) for line in lines),
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _clean(
    batch_id: UUID | None, pickup_point_id: UUID | None, lines: Sequence[LineSpec], idempotency_key: str
) -> None:
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
        errors.add(ErrorCode.INVALID, f"At most {MAX_LINES} lines.", ["lines"])
    seen: set[UUID] = set()
    for i, line in enumerate(lines):
        if line.offer_id is None:
            errors.add(ErrorCode.NOT_FOUND, "No such offer.", ["lines", str(i), "offerId"])
        elif line.offer_id in seen:
            errors.add(
                ErrorCode.INVALID, "This offer is already in another line.", ["lines", str(i), "offerId"]
            )
        else:
            seen.add(line.offer_id)
        if not 1 <= line.quantity <= MAX_LINE_QUANTITY:
            errors.add(
                ErrorCode.INVALID,
                f"The quantity must be between 1 and {MAX_LINE_QUANTITY}.",
                ["lines", str(i), "quantity"],
            )
    errors.raise_if_any()


async def _existing(session: AsyncSession, customer_id: UUID, key: str, digest: str) -> Placed | None:
    row = (
        await session.execute(
            text(
                "SELECT id, request_hash FROM customer_order WHERE customer_id = :c AND idempotency_key = :k"
            ),
            {"c": customer_id, "k": key},
        )
    ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise fail(
            ErrorCode.INVALID,
            "This idempotency key was already used for a different order.",
            ["idempotencyKey"],
        )
    return Placed(order_id=row.id, replayed=True)


@dataclass(frozen=True)
class _Offer:
    id: UUID
    product_id: UUID
    product_name: str
    price_minor: int
    per_customer_limit: int | None


async def _check_context(
    session: AsyncSession,
    tenant: TenantInfo,
    batch_id: UUID,
    pickup_point_id: UUID,
    lines: Sequence[LineSpec],
) -> tuple[UUID, Decimal, dict[UUID, _Offer]]:
    await pass_gate(session, batch_id)
    batch = (
        await session.execute(
            text(
                "SELECT status, closes_at > clock_timestamp() AS before_cutoff FROM batch "
                "WHERE id = :b FOR SHARE"
            ),
            {"b": batch_id},
        )
    ).first()
    if batch is None:
        raise fail(ErrorCode.NOT_FOUND, "No such batch.", ["batchId"])
    if batch.status != "OPEN" or not batch.before_cutoff:
        raise fail(ErrorCode.BATCH_NOT_OPEN, "This batch is not open for orders.", ["batchId"])
    errors = Collector()
    point = (
        await session.execute(
            text(
                "SELECT p.active, l.id AS leader_id, l.status AS leader_status, l.commission_rate "
                "FROM pickup_point p JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id "
                "WHERE p.id = :p"
            ),
            {"p": pickup_point_id},
        )
    ).first()
    if point is None:
        errors.add(ErrorCode.NOT_FOUND, "No such pickup point.", ["pickupPointId"])
    elif not point.active or point.leader_status != "APPROVED":
        errors.add(ErrorCode.INVALID, "This pickup point is not taking orders.", ["pickupPointId"])
    offers = {
        r.id: _Offer(r.id, r.product_id, r.product_name, r.price_minor, r.per_customer_limit)
        for r in (
            await session.execute(
                text(
                    "SELECT o.id, o.product_id, p.name AS product_name, o.price_minor, o.per_customer_limit "
                    "FROM offer o JOIN product p ON p.tenant_id = o.tenant_id AND p.id = o.product_id "
                    "WHERE o.batch_id = :b AND o.id = ANY(:ids) AND o.status = 'ACTIVE'"
                ),
                {"b": batch_id, "ids": [line.offer_id for line in lines]},
            )
        ).all()
    }
    for i, line in enumerate(lines):
        offer = offers.get(line.offer_id)  # type: ignore[arg-type]
        if offer is None:
            errors.add(ErrorCode.NOT_FOUND, "No such offer in this batch.", ["lines", str(i), "offerId"])
        elif offer.per_customer_limit is not None and line.quantity > offer.per_customer_limit:
            errors.add(
                ErrorCode.LIMIT_EXCEEDED,
                f"At most {offer.per_customer_limit} per customer.",
                ["lines", str(i), "quantity"],
            )
    errors.raise_if_any()
    assert point is not None
    rate = point.commission_rate if point.commission_rate is not None else tenant.default_commission_rate
    return point.leader_id, rate, offers


_INSERT_ORDER = text(
    "INSERT INTO customer_order (tenant_id, id, number, batch_id, pickup_point_id, customer_id, "
    "  customer_name, "
    "  leader_id, commission_rate, status, currency, total_minor, refunded_minor, pickup_code, "
    "  idempotency_key, request_hash) "
    "VALUES (:t, :id, :number, :batch, :point, :customer, "
    "  (SELECT display_name FROM app_user WHERE id = :customer), :leader, :rate, :status, :currency, "
    "  :total, 0, :code, :key, :hash) "
    # A pickup code already used at this point in this batch: draw another one. Any other
    # conflict (the idempotency key) raises.
    "ON CONFLICT ON CONSTRAINT customer_order_pickup_code_key DO NOTHING"
)

_INSERT_LINES = text(
    "INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, "
    "  quantity, "
    "  unit_price_minor, status) "
    "SELECT :t, gen_random_uuid(), :order, v.offer_id, v.product_id, v.position, v.name, v.quantity, "
    "  v.price, "
    "  'ACTIVE' "
    "FROM unnest(CAST(:offers AS uuid[]), CAST(:products AS uuid[]), CAST(:positions AS int[]), "
    "            CAST(:names AS text[]), CAST(:quantities AS int[]), CAST(:prices AS bigint[])) "
    "  AS v(offer_id, product_id, position, name, quantity, price)"
)


async def _insert_order(session: AsyncSession, params: dict) -> None:
    for _ in range(PICKUP_CODE_ATTEMPTS):
        params["code"] = new_pickup_code()
        if (await session.execute(_INSERT_ORDER, params)).rowcount == 1:
            return
    raise RuntimeError("could not draw a free pickup code")


def _is_idempotency_conflict(e: IntegrityError) -> bool:
    return getattr(getattr(e.orig, "diag", None), "constraint_name", None) == "customer_order_idempotency_key"


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
    """Leaves the order written but not committed: the caller commits with `commit_placement`."""
    _clean(batch_id, pickup_point_id, lines, idempotency_key)
    assert batch_id is not None and pickup_point_id is not None
    digest = request_hash(batch_id, pickup_point_id, lines)
    replay = await _existing(session, customer_id, idempotency_key, digest)
    if replay is not None:
        return replay
    leader_id, rate, offers = await _check_context(session, tenant, batch_id, pickup_point_id, lines)

    order_id = uuid4()
    status = OrderStatus.PENDING_PAYMENT if tenant.payment_mode is PaymentMode.PREPAID else OrderStatus.PLACED
    chosen = [offers[line.offer_id] for line in lines]  # type: ignore[index]
    params = {
        "t": tenant.id,
        "id": order_id,
        "number": await next_order_number(session),
        "batch": batch_id,
        "point": pickup_point_id,
        "customer": customer_id,
        "leader": leader_id,
        "rate": rate,
        "status": status.value,
        "currency": tenant.currency,
        "total": sum(o.price_minor * line.quantity for o, line in zip(chosen, lines, strict=True)),
        "key": idempotency_key,
        "hash": digest,
    }
    try:
        async with session.begin_nested():  # all or nothing
            await _insert_order(session, params)
            await session.execute(
                _INSERT_LINES,
                {
                    "t": tenant.id,
                    "order": order_id,
                    "offers": [o.id for o in chosen],
                    "products": [o.product_id for o in chosen],
                    "positions": list(range(len(chosen))),
                    "names": [o.product_name for o in chosen],
                    "quantities": [line.quantity for line in lines],
                    "prices": [o.price_minor for o in chosen],
                },
            )
            await emit(
                session,
                tenant_id=tenant.id,
                event="ORDER_PLACED",
                subject_type="order",
                subject_id=order_id,
                payload={
                    "orderId": str(order_id),
                    "number": params["number"],
                    "customerId": str(customer_id),
                    "leaderId": str(leader_id),
                    "batchId": str(batch_id),
                },
            )
            # Last, so the contended offer rows stay locked only from here to the commit.
            await _reserve(session, tenant.id, customer_id, lines, offers)
        return Placed(order_id=order_id, replayed=False)
    except IntegrityError as e:
        if not _is_idempotency_conflict(e):
            raise
    # A concurrent request with the same key committed its order first: that one is the answer.
    replay = await _existing(session, customer_id, idempotency_key, digest)
    if replay is None:  # it rolled back after all; the caller may retry with the same key
        raise fail(
            ErrorCode.CONFLICT,
            "A request with this idempotency key is in progress; retry.",
            ["idempotencyKey"],
        )
    return replay


async def _reserve(
    session: AsyncSession,
    tenant_id: UUID,
    customer_id: UUID,
    lines: Sequence[LineSpec],
    offers: dict[UUID, _Offer],
) -> None:
    """All lines or none: the first refusal raises, and the caller's savepoint undoes the rest.
    Per-customer counters first, then offers, each in offer-id order: the same lock order as
    every release (`stock.give_back`), so nothing can deadlock."""
    indexed = sorted(enumerate(lines), key=lambda pair: pair[1].offer_id)  # type: ignore[arg-type, return-value]
    for i, line in indexed:
        assert line.offer_id is not None
        limit = offers[line.offer_id].per_customer_limit
        if limit is not None and not await take_customer_quantity(
            session,
            tenant_id=tenant_id,
            offer_id=line.offer_id,
            customer_id=customer_id,
            quantity=line.quantity,
            limit=limit,
        ):
            raise fail(
                ErrorCode.LIMIT_EXCEEDED,
                f"At most {limit} per customer, counting your other orders.",
                ["lines", str(i), "quantity"],
            )
    for i, line in indexed:
        assert line.offer_id is not None
        if not await take_stock(session, tenant_id=tenant_id, offer_id=line.offer_id, quantity=line.quantity):
            left = (
                await session.execute(
                    text("SELECT greatest(stock_limit - sold, 0) FROM offer WHERE id = :id"),
                    {"id": line.offer_id},
                )
            ).scalar_one()
            raise fail(ErrorCode.OUT_OF_STOCK, f"Only {left} left.", ["lines", str(i), "quantity"])


async def commit_placement(session: AsyncSession, tenant_id: UUID) -> None:
    """Commits now, so the deferred cutoff check runs at the real commit and its refusal can be
    a payload error; then opens a new transaction for the rest of the request (reads)."""
    try:
        await session.commit()
    except DBAPIError as e:
        await session.rollback()
        if getattr(e.orig, "sqlstate", None) == BATCH_CLOSED_SQLSTATE:
            raise fail(
                ErrorCode.BATCH_NOT_OPEN, "The batch closed before the order went through.", ["batchId"]
            ) from None
        raise
    finally:
        await set_tenant(session, tenant_id)
