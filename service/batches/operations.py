"""Creating, publishing and cancelling batches; adding offers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service import jobs
from service.batches.locks import close_gate
from service.batches.models import (
    CANCELLABLE_BATCH_STATUSES,
    EDITABLE_BATCH_STATUSES,
    Batch,
    BatchStatus,
    Offer,
)
from service.batches.opening import MAX_MESSAGE_DELAY_SECONDS
from service.batches.validation import CleanOffer, OfferSpec, clean_offer, clean_window
from service.catalog.models import Product, Supplier
from service.errors import Collector, ErrorCode, fail
from service.groupbuys.resolution import lock_open_groups, resolve_groups
from service.i18n import msg
from service.money import from_minor
from service.notify.outbox import emit
from service.orders.release import cancel_orders
from service.tenants.principal import TenantInfo
from service.validation import text_value


async def _check_products(
    session: AsyncSession, tenant_id: UUID, errors: Collector, offers: Sequence[tuple[Sequence[str], CleanOffer]]
) -> None:
    ids = list({o.product_id for _, o in offers})
    found = (
        {
            row.id: row.active and row.archived_at is None
            for row in (
                await session.execute(
                    select(col(Product.id), col(Product.active), col(Supplier.archived_at))
                    .join(Supplier, (col(Supplier.tenant_id) == col(Product.tenant_id))
                          & (col(Supplier.id) == col(Product.supplier_id)))
                    .where(Product.tenant_id == tenant_id, col(Product.id).in_(ids))
                )
            ).all()
        }
        if ids
        else {}
    )
    for field, offer in offers:
        if offer.product_id not in found:
            errors.add(ErrorCode.NOT_FOUND, "No such product.", [*field, "productId"])
        elif not found[offer.product_id]:
            errors.add(ErrorCode.INVALID, "This product is not active (or its supplier is archived).",
                       [*field, "productId"])


def _offer_row(tenant_id: UUID, batch_id: UUID, offer: CleanOffer, position: int) -> Offer:
    return Offer(
        tenant_id=tenant_id,
        id=uuid4(),
        batch_id=batch_id,
        product_id=offer.product_id,
        position=position,
        price_minor=offer.price_minor,
        stock_limit=offer.stock_limit,
        per_customer_limit=offer.per_customer_limit,
        min_group_quantity=offer.min_group_quantity,
        group_size=offer.group_size,
        group_window_minutes=offer.group_window_minutes,
        group_expiry=offer.group_expiry,
    )


async def create_batch(
    session: AsyncSession,
    *,
    tenant: TenantInfo,
    title: str,
    opens_at: datetime,
    closes_at: datetime,
    pickup_date: date,
    offers: Sequence[OfferSpec],
    created_by: UUID | None,
) -> Batch:
    errors = Collector()
    clean_title = text_value(errors, title, ["title"], max_length=200)
    clean_window(
        errors, opens_at=opens_at, closes_at=closes_at, pickup_date=pickup_date, timezone=tenant.timezone
    )
    cleaned: list[tuple[list[str], CleanOffer]] = []
    seen: dict[UUID, int] = {}
    for i, spec in enumerate(offers):
        field = ["offers", str(i)]
        offer = clean_offer(errors, spec, field, tenant.currency)
        if spec.product_id is not None and spec.product_id in seen:
            errors.add(
                ErrorCode.INVALID,
                msg("batches.product_twice", at=seen[spec.product_id]),
                [*field, "productId"],
            )
        elif spec.product_id is not None:
            seen[spec.product_id] = i
        if offer is not None:
            cleaned.append((field, offer))
    await _check_products(session, tenant.id, errors, cleaned)
    errors.raise_if_any()

    batch = Batch(
        tenant_id=tenant.id,
        id=uuid4(),
        title=clean_title or "",
        status=BatchStatus.DRAFT,
        opens_at=opens_at,
        closes_at=closes_at,
        pickup_date=pickup_date,
        created_by=created_by,
    )
    session.add(batch)
    await session.flush()
    session.add_all([_offer_row(tenant.id, batch.id, o, i) for i, (_, o) in enumerate(cleaned)])
    await session.flush()
    return batch


async def _batch_for_update(session: AsyncSession, tenant_id: UUID, batch_id: UUID | None, field: str) -> Batch:
    batch = None
    if batch_id is not None:
        batch = (
            await session.execute(
                select(Batch).where(Batch.tenant_id == tenant_id, Batch.id == batch_id).with_for_update()
            )
        ).scalar_one_or_none()
    if batch is None:
        raise fail(ErrorCode.NOT_FOUND, "No such batch.", [field])
    return batch


async def add_offer(
    session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID | None, spec: OfferSpec
) -> Offer:
    errors = Collector()
    offer = clean_offer(errors, spec, [], tenant.currency)
    # The batch row lock orders concurrent additions and publication.
    batch = await _batch_for_update(session, tenant.id, batch_id, "batchId")
    if BatchStatus(batch.status) not in EDITABLE_BATCH_STATUSES:
        raise fail(
            ErrorCode.CONFLICT,
            msg("batches.offers_while", status=f"{batch.status}"),
            ["batchId"],
        )
    if offer is not None:
        await _check_products(session, tenant.id, errors, [([], offer)])
    errors.raise_if_any()
    assert offer is not None
    taken = (
        await session.execute(
            select(col(Offer.id)).where(
                Offer.tenant_id == tenant.id, Offer.batch_id == batch.id, Offer.product_id == offer.product_id
            )
        )
    ).first()
    if taken:
        raise fail(ErrorCode.ALREADY_EXISTS, "This product is already offered in this batch.", ["productId"])
    position = (
        await session.execute(
            text("SELECT coalesce(max(position) + 1, 0) FROM offer WHERE tenant_id = :t AND batch_id = :b"),
            {"t": tenant.id, "b": batch.id},
        )
    ).scalar_one()
    row = _offer_row(tenant.id, batch.id, offer, position)
    session.add(row)
    await session.flush()
    return row


async def publish_batch(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID | None) -> Batch:
    batch = await _batch_for_update(session, tenant_id, batch_id, "id")
    if BatchStatus(batch.status) is not BatchStatus.DRAFT:
        raise fail(
            ErrorCode.CONFLICT, msg("batches.publish_draft", status=f"{batch.status}"), ["id"]
        )
    has_offer = (
        await session.execute(
            select(col(Offer.id)).where(Offer.tenant_id == tenant_id, Offer.batch_id == batch.id).limit(1)
        )
    ).first()
    if not has_offer:
        raise fail(ErrorCode.INVALID, "Add at least one offer before publishing.", ["id"])
    row = (
        await session.execute(
            text(
                "UPDATE batch SET status = 'SCHEDULED', published_at = statement_timestamp() "
                "WHERE tenant_id = :t AND id = :id AND status = 'DRAFT' RETURNING published_at"
            ),
            {"t": tenant_id, "id": batch.id},
        )
    ).one()
    batch.status = BatchStatus.SCHEDULED
    batch.published_at = row.published_at
    # The delayed message that opens the batch at opensAt (long waits in steps). Should it be
    # lost, the scheduler's open-due-batches opens the batch all the same.
    wait = min((batch.opens_at - datetime.now(UTC)).total_seconds(), MAX_MESSAGE_DELAY_SECONDS)
    jobs.enqueue_after_commit(session, "open_batch", delay_ms=max(0, int(wait * 1000)),
                              tenant_id=batch.tenant_id, batch_id=batch.id)
    return batch


@dataclass
class CancelledBatch:
    batch: Batch
    cancelled_orders: int


async def cancel_batch(
    session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID | None, reason: str
) -> CancelledBatch:
    """Every order cancelled, its stock released, a refund recorded for what was paid, and the
    customers and leaders told (outbox), all in this transaction.

    The batch's gate is closed first (`service.batches.locks`): this waits for in-flight orders
    and customer cancellations, and holds new ones back, so none slips in and none starves us.
    """
    errors = Collector()
    clean_reason = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    if batch_id is not None:
        await close_gate(session, batch_id)
    batch = await _batch_for_update(session, tenant.id, batch_id, "id")
    if BatchStatus(batch.status) not in CANCELLABLE_BATCH_STATUSES:
        raise fail(ErrorCode.CONFLICT, msg("batches.cannot_cancel", status=f"{batch.status}"), ["id"])
    row = (
        await session.execute(
            text(
                "UPDATE batch SET status = 'CANCELLED', cancelled_at = statement_timestamp(), cancel_reason = :r "
                "WHERE tenant_id = :t AND id = :id RETURNING cancelled_at"
            ),
            {"t": tenant.id, "id": batch.id, "r": clean_reason},
        )
    ).one()
    batch.status = BatchStatus.CANCELLED
    batch.cancelled_at = row.cancelled_at
    batch.cancel_reason = clean_reason
    order_ids = [
        r.id
        for r in (
            await session.execute(
                text(
                    "SELECT id FROM customer_order WHERE tenant_id = :t AND batch_id = :b "
                    "AND status IN ('PENDING_PAYMENT', 'PAID', 'PLACED') ORDER BY id"
                ),
                {"t": tenant.id, "b": batch.id},
            )
        ).all()
    ]
    await lock_open_groups(session, tenant_id=tenant.id, batch_id=batch.id)  # 拼团: before the orders
    cancelled = await cancel_orders(
        session, tenant_id=tenant.id, order_ids=order_ids, reason=f"Batch cancelled: {clean_reason}"
    )
    await resolve_groups(session, tenant_id=tenant.id, batch_id=batch.id, gate=False)  # 拼团: open groups fail
    leaders = [
        str(r.leader_id)
        for r in (
            await session.execute(
                text("SELECT DISTINCT leader_id FROM customer_order WHERE tenant_id = :t AND batch_id = :b"),
                {"t": tenant.id, "b": batch.id},
            )
        ).all()
    ]
    await emit(
        session,
        tenant_id=tenant.id,
        event="BATCH_CANCELLED",
        subject_type="batch",
        subject_id=batch.id,
        payload={
            "batchId": str(batch.id),
            "title": batch.title,
            "reason": clean_reason,
            "audience": ["customers", "leaders"],
            "leaderIds": leaders,
            "cancelledOrders": len(cancelled),
        },
    )
    return CancelledBatch(batch=batch, cancelled_orders=len(cancelled))


async def update_batch(
    session: AsyncSession,
    *,
    tenant: TenantInfo,
    batch_id: UUID | None,
    title: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    pickup_date: date | None = None,
) -> Batch:
    """Changes the given fields of a DRAFT or SCHEDULED batch; the window is checked as a whole.
    A SCHEDULED batch opens and closes at its new times: the scheduler finds due batches by time
    (`opens_at <= now`), and an opening message sent for the old time opens nothing early."""
    errors = Collector()
    clean_title = text_value(errors, title, ["title"], max_length=200) if title is not None else None
    batch = await _batch_for_update(session, tenant.id, batch_id, "id")
    if BatchStatus(batch.status) not in EDITABLE_BATCH_STATUSES:
        raise fail(
            ErrorCode.CONFLICT, msg("batches.edit_while", status=f"{batch.status}"), ["id"]
        )
    clean_window(
        errors,
        opens_at=opens_at or batch.opens_at,
        closes_at=closes_at or batch.closes_at,
        pickup_date=pickup_date or batch.pickup_date,
        timezone=tenant.timezone,
    )
    errors.raise_if_any()
    if clean_title is not None:
        batch.title = clean_title
    if opens_at is not None:
        batch.opens_at = opens_at
    if closes_at is not None:
        batch.closes_at = closes_at
    if pickup_date is not None:
        batch.pickup_date = pickup_date
    await session.flush()
    if BatchStatus(batch.status) is BatchStatus.SCHEDULED and opens_at is not None:
        # A message for the new time, as at publish; the one for the old time finds the batch not
        # due (or opens it on time, if sooner). Lost, the scheduler's open-due-batches catches up.
        wait = min((batch.opens_at - datetime.now(UTC)).total_seconds(), MAX_MESSAGE_DELAY_SECONDS)
        jobs.enqueue_after_commit(session, "open_batch", delay_ms=max(0, int(wait * 1000)),
                                  tenant_id=batch.tenant_id, batch_id=batch.id)
    return batch


@dataclass(frozen=True)
class OfferChanges:
    """offerUpdate's input: None leaves a field as it is."""

    price: Decimal | str | None = None
    stock_limit: int | None = None
    per_customer_limit: int | None = None
    min_group_quantity: int | None = None
    group_size: int | None = None
    group_window_minutes: int | None = None
    group_expiry: str | None = None


async def update_offer(
    session: AsyncSession, *, tenant: TenantInfo, offer_id: UUID | None, changes: OfferChanges
) -> Offer:
    """Changes an offer of a DRAFT or SCHEDULED batch. The stock limit cannot go below what is
    sold; the offer's stock slots are re-spread over the new limit by the database
    (offer_stock_limit_changed(), migration 0011), under the slots' row locks."""
    offer_batch = (
        (
            await session.execute(
                select(col(Offer.batch_id)).where(Offer.tenant_id == tenant.id, col(Offer.id) == offer_id)
            )
        ).scalar_one_or_none()
        if offer_id is not None
        else None
    )
    if offer_batch is None:
        raise fail(ErrorCode.NOT_FOUND, "No such offer.", ["id"])
    # The batch first, as every writer of offers locks it (add_offer, publish, the close).
    batch = await _batch_for_update(session, tenant.id, offer_batch, "id")
    offer = (
        await session.execute(
            select(Offer).where(Offer.tenant_id == tenant.id, col(Offer.id) == offer_id).with_for_update()
        )
    ).scalar_one()
    if BatchStatus(batch.status) not in EDITABLE_BATCH_STATUSES:
        raise fail(
            ErrorCode.CONFLICT, msg("batches.offer_edit_while", status=f"{batch.status}"),
            ["id"],
        )
    errors = Collector()
    spec = OfferSpec(
        product_id=offer.product_id,
        price=changes.price if changes.price is not None else from_minor(offer.price_minor, tenant.currency),
        stock_limit=changes.stock_limit if changes.stock_limit is not None else offer.stock_limit,
        per_customer_limit=(
            changes.per_customer_limit if changes.per_customer_limit is not None else offer.per_customer_limit
        ),
        min_group_quantity=(
            changes.min_group_quantity if changes.min_group_quantity is not None else offer.min_group_quantity
        ),
        group_size=changes.group_size if changes.group_size is not None else offer.group_size,
        group_window_minutes=(
            changes.group_window_minutes if changes.group_window_minutes is not None else offer.group_window_minutes
        ),
        group_expiry=changes.group_expiry if changes.group_expiry is not None else offer.group_expiry,
    )
    clean = clean_offer(errors, spec, [], tenant.currency)
    sold = (
        await session.execute(
            text("SELECT coalesce(sum(sold), 0) FROM offer_stock_slot WHERE tenant_id = :t AND offer_id = :o"),
            {"t": tenant.id, "o": offer.id},
        )
    ).scalar_one()
    if changes.stock_limit is not None and changes.stock_limit < sold:
        errors.add(ErrorCode.INVALID, msg("batches.stock_below_sold", sold=sold), ["stockLimit"])
    errors.raise_if_any()
    assert clean is not None
    offer.price_minor = clean.price_minor
    offer.stock_limit = clean.stock_limit
    offer.per_customer_limit = clean.per_customer_limit
    offer.min_group_quantity = clean.min_group_quantity
    offer.group_size = clean.group_size
    offer.group_window_minutes = clean.group_window_minutes
    offer.group_expiry = clean.group_expiry
    await session.flush()
    await session.refresh(offer)  # `sold`, from the slots
    return offer
