"""The shortage report: per supplier and product of a batch, ordered, shipped, received,
damaged, shorted and refunded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.aftersales.models import DeliveryLine
from service.csv_cells import csv_document
from service.money import from_minor

_ROWS = text("""
SELECT po.supplier_id, pl.product_id, pl.product_name, po.currency, pl.quantity AS ordered,
       coalesce(pl.shipped_quantity, CASE WHEN po.status = 'SHIPPED' THEN pl.quantity END, 0) AS shipped,
       coalesce((SELECT sum(d.received) FROM delivery_line d WHERE d.purchase_order_id = po.id
                 AND d.product_id = pl.product_id), 0)::int AS received,
       coalesce((SELECT sum(d.damaged) FROM delivery_line d WHERE d.purchase_order_id = po.id
                 AND d.product_id = pl.product_id), 0)::int AS damaged,
       coalesce((SELECT sum(l.shorted_quantity) FROM customer_order o JOIN order_line l
                 ON l.tenant_id = o.tenant_id AND l.order_id = o.id
                 WHERE o.batch_id = po.batch_id AND l.product_id = pl.product_id), 0)::int AS shorted,
       coalesce((SELECT sum(r.amount_minor) FROM customer_order o JOIN refund r
                 ON r.tenant_id = o.tenant_id AND r.order_id = o.id
                 JOIN order_line l ON l.tenant_id = r.tenant_id AND l.id = r.order_line_id
                 WHERE o.batch_id = po.batch_id AND l.product_id = pl.product_id), 0)::bigint AS refunded_minor
FROM purchase_order po
JOIN purchase_order_line pl ON pl.tenant_id = po.tenant_id AND pl.purchase_order_id = po.id
WHERE po.batch_id = :b AND (CAST(:s AS uuid) IS NULL OR po.supplier_id = :s)
ORDER BY po.number, pl.product_name
""")


async def shortage_rows(session: AsyncSession, *, batch_id: UUID, supplier_id: UUID | None) -> Sequence[Any]:
    return (await session.execute(_ROWS, {"b": batch_id, "s": supplier_id})).all()


async def delivery_discrepancies(session: AsyncSession, *, purchase_order_id: UUID) -> Sequence[DeliveryLine]:
    stmt = (select(DeliveryLine).where(DeliveryLine.purchase_order_id == purchase_order_id)
            .where(or_(col(DeliveryLine.shipped) < col(DeliveryLine.ordered), col(DeliveryLine.damaged) > 0,
                       col(DeliveryLine.received) < col(DeliveryLine.shipped)))
            .order_by(col(DeliveryLine.product_id), col(DeliveryLine.pickup_point_id)))
    return (await session.execute(stmt)).scalars().all()


CSV_HEADER = ("batch", "supplier", "product", "ordered", "shipped", "received", "damaged", "shorted", "refunded",
              "currency")


async def shortage_csv(session: AsyncSession, *, batch_id: UUID, supplier_id: UUID | None) -> bytes | None:
    """The report as CSV (UTF-8 with a BOM, spreadsheet-safe cells); None when no such batch."""
    batch = (await session.execute(text("SELECT title FROM batch WHERE id = :b"), {"b": batch_id})).scalar_one_or_none()
    if batch is None:
        return None
    rows = await shortage_rows(session, batch_id=batch_id, supplier_id=supplier_id)
    names = {s[0]: s[1] for s in (await session.execute(text("SELECT id, name FROM supplier"))).all()}
    return csv_document(CSV_HEADER, ([batch, names.get(x.supplier_id, ""), x.product_name, x.ordered, x.shipped,
                                      x.received, x.damaged, x.shorted, from_minor(x.refunded_minor, x.currency),
                                      x.currency] for x in rows))
