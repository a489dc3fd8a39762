"""Receiving at the pickup point (deliveryConfirm): per product, what arrived and what arrived
damaged. What is missing or damaged becomes a shortage at that point, allocated among its lines
by the tenant's policy and refunded; the supplier hears of it (DELIVERY_DISCREPANCY). Once per
point: the pick list's lock orders concurrent calls, and a repeat changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.aftersales.models import RefundReason
from service.aftersales.refunds import Actor
from service.aftersales.shortage import Demand, allocate, ship_purchase_order
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.money import from_minor
from service.notify.outbox import emit
from service.procurement.models import PickList
from service.procurement.operations import receive_delivery
from service.tenants.principal import TenantInfo
from service.validation import text_value

MAX_PHOTOS = 10


@dataclass(frozen=True)
class ReceivedLine:
    product_id: UUID | None
    received: int
    damaged: int = 0
    note: str | None = None
    photo_urls: Sequence[str] = field(default_factory=tuple)


def photo_urls(errors: Collector, urls: Sequence[str] | None, path: list[str]) -> list[str]:
    """Photo links: absolute https URLs of at most 500 characters, at most MAX_PHOTOS."""
    clean: list[str] = []
    urls = list(urls or [])
    if len(urls) > MAX_PHOTOS:
        errors.add(ErrorCode.INVALID, msg("aftersales.photos_max", max=MAX_PHOTOS), path)
        return clean
    for k, url in enumerate(urls):
        parts = urlsplit(url.strip()) if isinstance(url, str) else None
        if (parts is None or parts.scheme != "https" or not parts.hostname or len(url) > 500
                or any(c.isspace() or ord(c) < 32 for c in url.strip())):
            errors.add(ErrorCode.INVALID, "A photo must be an https:// link of at most 500 characters.",
                       [*path, str(k)])
        else:
            clean.append(url.strip())
    return clean


async def confirm_delivery(
    session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID, pickup_point_id: UUID,
    lines: Sequence[ReceivedLine] | None, actor: Actor,
) -> PickList:
    """`lines` None, or products left out: arrived as shipped."""
    locked = (await session.execute(
        text("SELECT id, received_at FROM pick_list WHERE tenant_id = :t AND batch_id = :b AND pickup_point_id = :p "
             "FOR UPDATE"),
        {"t": tenant.id, "b": batch_id, "p": pickup_point_id})).first()
    if locked is None:
        raise fail(ErrorCode.CONFLICT, "Nothing to receive: this batch has no pick list for this point "
                                       "(not closed yet, or no order here).", ["batchId"])
    # Goods that arrived were shipped: a purchase order not marked shipped is shipped as ordered.
    unshipped = (await session.execute(
        text("SELECT DISTINCT po.id FROM purchase_order po JOIN purchase_order_delivery d "
             "ON d.tenant_id = po.tenant_id AND d.purchase_order_id = po.id "
             "WHERE po.tenant_id = :t AND po.batch_id = :b AND d.pickup_point_id = :p "
             "AND NOT EXISTS (SELECT 1 FROM delivery_line x "
             "WHERE x.tenant_id = po.tenant_id AND x.purchase_order_id = po.id) ORDER BY po.id"),
        {"t": tenant.id, "b": batch_id, "p": pickup_point_id})).scalars().all()
    if locked.received_at is None:
        for po_id in unshipped:
            await ship_purchase_order(session, tenant=tenant, purchase_order_id=po_id, supplier_id=None, lines=None,
                                      actor=actor)
    here = {r.product_id: r for r in (await session.execute(
        text("SELECT d.purchase_order_id, d.product_id, d.shipped, d.received, d.damaged, po.supplier_id, "
             "po.currency, po.number FROM delivery_line d JOIN purchase_order po ON po.tenant_id = d.tenant_id "
             "AND po.id = d.purchase_order_id WHERE d.tenant_id = :t AND d.batch_id = :b AND d.pickup_point_id = :p "
             "FOR UPDATE OF d"),
        {"t": tenant.id, "b": batch_id, "p": pickup_point_id})).all()}
    errors = Collector()
    given: dict[UUID, tuple[int, int, str | None, list[str]]] = {}
    for n, line in enumerate(lines or []):
        path = ["lines", str(n)]
        row = here.get(line.product_id) if line.product_id else None
        if row is None:
            errors.add(ErrorCode.NOT_FOUND, "Nothing of this product was sent to this pickup point.",
                       [*path, "productId"])
            continue
        if row.product_id in given:
            errors.add(ErrorCode.INVALID, "Give each product once.", [*path, "productId"])
        if not 0 <= line.received <= row.shipped:
            errors.add(ErrorCode.INVALID, msg("aftersales.received_range", n=row.shipped), [*path, "received"])
        elif not 0 <= line.damaged <= line.received:
            errors.add(ErrorCode.INVALID, "Between 0 and the units received.", [*path, "damaged"])
        note = text_value(errors, line.note, [*path, "note"], max_length=500, required=False)
        urls = photo_urls(errors, line.photo_urls, [*path, "photoUrls"])
        given[row.product_id] = (line.received, line.damaged, note, urls)
    errors.raise_if_any()
    if locked.received_at is not None:
        if all(given.get(p, (r.received, r.damaged))[:2] == (r.received if r.received is not None else r.shipped,
                                                           r.damaged) for p, r in here.items()):
            return await receive_delivery(session, tenant_id=tenant.id, batch_id=batch_id,
                                          pickup_point_id=pickup_point_id)
        raise fail(ErrorCode.CONFLICT, "This delivery was already confirmed with other quantities.", ["pickupPointId"])
    for product_id, row in here.items():
        received, damaged, note, urls = given.get(product_id, (row.shipped, 0, None, []))
        await session.execute(
            text("UPDATE delivery_line SET received = :r, damaged = :d, note = :n, photo_urls = :u, "
                 "received_at = statement_timestamp() WHERE tenant_id = :t AND purchase_order_id = :po "
                 "AND product_id = :pr AND pickup_point_id = :p"),
            {"t": tenant.id, "r": received, "d": damaged, "n": note, "u": urls, "po": row.purchase_order_id,
             "pr": product_id, "p": pickup_point_id})
    missing = [Demand(p, pickup_point_id, r.shipped - given[p][0]) for p, r in here.items() if p in given]
    damaged = [Demand(p, pickup_point_id, given[p][1]) for p, r in here.items() if p in given]
    occasion = f"delivery:{batch_id}:{pickup_point_id}"
    _, short, _ = await allocate(session, tenant=tenant, batch_id=batch_id, demands=missing,
                                 reason=RefundReason.SHORTAGE, note=None, actor=actor, occasion=f"{occasion}:missing")
    _, broken, _ = await allocate(session, tenant=tenant, batch_id=batch_id, demands=damaged,
                                  reason=RefundReason.DAMAGED, note=None, actor=actor, occasion=f"{occasion}:damaged")
    refunded = {r[0]: int(r[1]) for r in (await session.execute(
        text("SELECT l.product_id, sum(r.amount_minor)::bigint FROM refund r JOIN order_line l "
             "ON l.tenant_id = r.tenant_id AND l.id = r.order_line_id WHERE r.tenant_id = :t AND r.id = ANY(:ids) "
             "GROUP BY l.product_id"),
        {"t": tenant.id, "ids": short.refund_ids + broken.refund_ids})).all()}
    await _tell_suppliers(session, tenant=tenant, batch_id=batch_id, pickup_point_id=pickup_point_id, here=here,
                          given=given, refunded=refunded)
    return await receive_delivery(session, tenant_id=tenant.id, batch_id=batch_id, pickup_point_id=pickup_point_id)


async def _tell_suppliers(session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID, pickup_point_id: UUID,
                          here: dict[UUID, Any], given: dict[UUID, tuple[int, int, str | None, list[str]]],
                          refunded: dict[UUID, int]) -> None:
    """One DELIVERY_DISCREPANCY per purchase order with a difference at this point."""
    by_po: dict[UUID, list[dict[str, object]]] = {}
    for product_id, row in here.items():
        if product_id not in given:
            continue
        received, damaged, note, urls = given[product_id]
        if received == row.shipped and damaged == 0:
            continue
        by_po.setdefault(row.purchase_order_id, []).append({
            "productId": global_id.encode("Product", product_id), "shipped": row.shipped, "received": received,
            "missing": row.shipped - received, "damaged": damaged, "note": note, "photoUrls": urls,
            "refunded": {"amount": str(from_minor(refunded.get(product_id, 0), row.currency)),
                         "currency": row.currency},
        })
    for po_id, rows in by_po.items():
        supplier_id, number = next((r.supplier_id, r.number) for r in here.values() if r.purchase_order_id == po_id)
        await emit(session, tenant_id=tenant.id, event="DELIVERY_DISCREPANCY", subject_type="purchase_order",
                   subject_id=po_id, payload={
                       "purchaseOrderId": global_id.encode("PurchaseOrder", po_id),
                       "batchId": global_id.encode("Batch", batch_id),
                       "pickupPointId": global_id.encode("PickupPoint", pickup_point_id),
                       "supplierId": global_id.encode("Supplier", supplier_id),
                       "purchaseOrderNumber": number,
                       "lines": rows,
                   })
