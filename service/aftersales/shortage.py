"""Short shipments and receipt differences: the units a supplier did not ship, or that did not
arrive (or arrived damaged) at a point, are allocated to customers' lines by the tenant's policy
and refunded, in one set-based call of shortage_allocate(), exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import select

from service.accounts.models import PaymentMode, ShortagePolicy
from service.aftersales.compensation import Outcome, allocated_lines, grant, record_failure, tenant_policy
from service.aftersales.models import RefundReason
from service.aftersales.refunds import Actor, RefundResult, _emit
from service.db import insert_select
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.procurement.models import PurchaseOrder, PurchaseOrderStatus
from service.procurement.operations import advance_purchase_order
from service.tenants.principal import TenantInfo


@dataclass(frozen=True)
class ShippedLine:
    product_id: UUID | None
    quantity: int
    pickup_point_id: UUID | None = None
    point_given: bool = False  # a pickup point was named (pickup_point_id None: it names nothing)


@dataclass(frozen=True)
class Demand:
    product_id: UUID
    pickup_point_id: UUID | None
    shortfall: int


_ALLOCATE = text("SELECT kind, id, product_id, pickup_point_id, quantity FROM shortage_allocate("
                 ":t, :b, :policy, :products, :points, :shortfalls, :reason, :note, :actor_kind, :actor_id, "
                 ":prepaid)")


async def allocate(
    session: AsyncSession, *, tenant: TenantInfo, batch_id: UUID, demands: Sequence[Demand], reason: RefundReason,
    note: str | None, actor: Actor, occasion: str,
) -> tuple[dict[tuple[UUID, UUID], int], RefundResult, Outcome]:
    """Allocates and refunds (or compensates, as the tenant says: service/aftersales/compensation);
    returns the units allocated per (product, point), the refunds and the compensation."""
    demands = [d for d in demands if d.shortfall > 0]
    result = RefundResult()
    if not demands:
        return {}, result, Outcome()
    policy = await tenant_policy(session, tenant.id)
    prepaid = tenant.payment_mode is PaymentMode.PREPAID

    async def run(money: bool) -> list[Any]:
        return list((await session.execute(_ALLOCATE, {
            "t": tenant.id, "b": batch_id, "policy": "PRO_RATA" if tenant.shortage_policy is ShortagePolicy.PRO_RATA
            else "LAST_ORDERED_FIRST", "products": [d.product_id for d in demands],
            "points": [d.pickup_point_id for d in demands], "shortfalls": [d.shortfall for d in demands],
            "reason": reason.value, "note": note, "actor_kind": actor.kind, "actor_id": actor.id, "prepaid": money,
        })).all())

    failed: Outcome | None = None
    if policy.instead_of_refund:
        try:
            async with session.begin_nested():
                # The units leave the lines with no money moved; what was paid for them is kept against a coupon.
                rows = await run(False)
                lines = await allocated_lines(session, tenant_id=tenant.id, prepaid=prepaid, kept=True)
                outcome = await grant(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy,
                                      lines=lines, record_failure=False)
                if outcome.errors:
                    raise _NoCoupon(outcome)
        except _NoCoupon as e:  # refunded after all, and the refusal recorded
            failed = e.outcome
        else:
            return await _finish(session, tenant, rows, result, note or reason.value), result, outcome
    rows = await run(prepaid)
    lines = await allocated_lines(session, tenant_id=tenant.id, prepaid=prepaid, kept=False)
    per_point = await _finish(session, tenant, rows, result, note or reason.value)
    if failed is not None:
        await record_failure(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy, lines=lines,
                             errors=failed.errors)
        return per_point, result, failed
    return per_point, result, await grant(session, tenant=tenant, occasion=occasion, reason=reason, policy=policy,
                                          lines=lines)


class _NoCoupon(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("no compensation coupon")
        self.outcome = outcome


async def _finish(session: AsyncSession, tenant: TenantInfo, rows: Sequence[Any], result: RefundResult,
                  note: str) -> dict[tuple[UUID, UUID], int]:
    await _emit(session, tenant=tenant, rows=[(r.kind, r.id) for r in rows if r.kind != "point"], result=result,
                note=note)
    return {(r.product_id, r.pickup_point_id): r.quantity for r in rows if r.kind == "point"}


async def ship_purchase_order(
    session: AsyncSession, *, tenant: TenantInfo, purchase_order_id: UUID | None, supplier_id: UUID | None,
    lines: Sequence[ShippedLine] | None, actor: Actor,
) -> PurchaseOrder:
    """SHIPPED with the quantities actually shipped (None: all as ordered). The first call
    allocates the shortfall; a repeat with the same quantities changes nothing, another is a CONFLICT."""
    stmt = (select(PurchaseOrder).where(PurchaseOrder.tenant_id == tenant.id, PurchaseOrder.id == purchase_order_id)
            .with_for_update())
    po = (await session.execute(stmt)).scalar_one_or_none() if purchase_order_id else None
    if po is None or (supplier_id is not None and po.supplier_id != supplier_id):
        raise fail(ErrorCode.NOT_FOUND, "No such purchase order.", ["id"])
    deliveries = (await session.execute(
        text("SELECT product_id, pickup_point_id, quantity FROM purchase_order_delivery "
             "WHERE tenant_id = :t AND purchase_order_id = :po"), {"t": tenant.id, "po": po.id})).all()
    ordered: dict[UUID, int] = {}
    at_point: dict[tuple[UUID, UUID], int] = {}
    for d in deliveries:
        ordered[d.product_id] = ordered.get(d.product_id, 0) + d.quantity
        at_point[(d.product_id, d.pickup_point_id)] = d.quantity
    errors = Collector()
    per_product: dict[UUID, int] = {}
    per_point: dict[tuple[UUID, UUID], int] = {}
    for n, line in enumerate(lines or []):
        path = ["lines", str(n)]
        unknown_point = line.point_given and line.pickup_point_id not in {pt for _, pt in at_point}
        if unknown_point:
            errors.add(ErrorCode.NOT_FOUND, "This purchase order sends nothing to this pickup point.",
                       [*path, "pickupPointId"])
        if line.product_id is None or line.product_id not in ordered:
            errors.add(ErrorCode.NOT_FOUND, "This product is not on this purchase order.", [*path, "productId"])
            continue
        if unknown_point:
            continue
        if line.point_given and line.pickup_point_id is not None:
            key = (line.product_id, line.pickup_point_id)
            if key not in at_point:
                errors.add(ErrorCode.NOT_FOUND, "This purchase order sends nothing of this product to this "
                                                "pickup point.", [*path, "pickupPointId"])
                continue
            limit, seen = at_point[key], key in per_point or line.product_id in per_product
        else:
            limit = ordered[line.product_id]
            seen = line.product_id in per_product or any(p == line.product_id for p, _ in per_point)
        if seen:
            errors.add(ErrorCode.INVALID, "Give each product once: either in all or per pickup point.",
                       [*path, "productId"])
        elif line.quantity < 0 or line.quantity > limit:
            errors.add(ErrorCode.INVALID, msg("aftersales.shipped_range", n=limit), [*path, "quantity"])
        elif line.pickup_point_id is not None:
            per_point[(line.product_id, line.pickup_point_id)] = line.quantity
        else:
            per_product[line.product_id] = line.quantity
    errors.raise_if_any()
    shipped_before = (await session.execute(
        text("SELECT product_id, pickup_point_id, shipped FROM delivery_line WHERE tenant_id = :t "
             "AND purchase_order_id = :po"), {"t": tenant.id, "po": po.id})).all()
    if shipped_before or po.status == PurchaseOrderStatus.SHIPPED:
        said = {(r.product_id, r.pickup_point_id): r.shipped for r in shipped_before}
        if _same_shipment(said, at_point, per_product, per_point, lines is None):
            return po
        raise fail(ErrorCode.CONFLICT, "This purchase order was already shipped with other quantities.", ["id"])
    demands = [Demand(p, None, ordered[p] - q) for p, q in per_product.items()]
    demands += [Demand(p, point, at_point[(p, point)] - q) for (p, point), q in per_point.items()]
    if any(d.shortfall > 0 for d in demands):
        received = (await session.execute(
            text("SELECT 1 FROM pick_list WHERE tenant_id = :t AND batch_id = :b AND received_at IS NOT NULL "
                 "AND pickup_point_id = ANY(:points) LIMIT 1"), {"t": tenant.id, "b": po.batch_id,
                                                "points": list({p for _, p in at_point})})).first()
        if received:
            raise fail(ErrorCode.CONFLICT, "Goods of this purchase order were already received at a pickup point: "
                                           "differences are reported there (deliveryConfirm).", ["lines"])
    allocated, _, _ = await allocate(session, tenant=tenant, batch_id=po.batch_id, demands=demands,
                                     reason=RefundReason.SHORTAGE, note=None, actor=actor, occasion=f"ship:{po.id}")
    await insert_select(
        session,
        "INSERT INTO delivery_line (tenant_id, purchase_order_id, product_id, pickup_point_id, batch_id, "
        "ordered, shipped)",
        "SELECT CAST(:t AS uuid), CAST(:po AS uuid), u.product, u.point, CAST(:b AS uuid), u.ordered, "
        "u.ordered - u.short "
        "FROM unnest(CAST(:products AS uuid[]), CAST(:points AS uuid[]), CAST(:ordered AS int[]), "
        "CAST(:shorts AS int[])) AS u(product, point, ordered, short)",
        {"t": tenant.id, "po": po.id, "b": po.batch_id, "products": [p for p, _ in at_point],
         "points": [pt for _, pt in at_point], "ordered": list(at_point.values()),
         "shorts": [allocated.get(k, 0) for k in at_point]},
    )
    # What the supplier said per product; per point, the sum of what went to the points.
    await session.execute(
        text("UPDATE purchase_order_line l SET shipped_quantity = coalesce(u.q, d.shipped) "
             "FROM purchase_order_line l2 LEFT JOIN unnest(CAST(:products AS uuid[]), CAST(:qs AS int[])) "
             "AS u(product, q) ON u.product = l2.product_id "
             "LEFT JOIN (SELECT product_id, sum(shipped)::int AS shipped FROM delivery_line "
             "           WHERE tenant_id = :t AND purchase_order_id = :po GROUP BY product_id) d "
             "ON d.product_id = l2.product_id "
             "WHERE l.tenant_id = :t AND l.purchase_order_id = :po AND l2.tenant_id = l.tenant_id "
             "AND l2.purchase_order_id = l.purchase_order_id AND l2.product_id = l.product_id"),
        {"t": tenant.id, "po": po.id, "products": list(per_product), "qs": list(per_product.values())},
    )
    return await advance_purchase_order(session, tenant_id=tenant.id, purchase_order_id=po.id, supplier_id=supplier_id,
                                        to=PurchaseOrderStatus.SHIPPED)


def _same_shipment(said: dict[tuple[UUID, UUID], int], at_point: dict[tuple[UUID, UUID], int],
                   per_product: dict[UUID, int], per_point: dict[tuple[UUID, UUID], int], all_as_ordered: bool) -> bool:
    """A repeat: nothing given, or the same quantities as the first call recorded."""
    if all_as_ordered:
        return True
    if not said:  # shipped before quantities were kept: only "as ordered" repeats it
        return all(q == at_point[k] for k, q in per_point.items()) and all(
            q == sum(v for (p, _), v in at_point.items() if p == prod) for prod, q in per_product.items())
    for key, q in per_point.items():
        if said.get(key) != q:
            return False
    for prod, q in per_product.items():
        if sum(v for (p, _), v in said.items() if p == prod) != q:
            return False
    return True
