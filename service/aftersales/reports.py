"""The shortage report: per supplier and product of a batch, ordered, shipped, received,
damaged, shorted and refunded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import or_, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.aftersales.models import DeliveryLine
from service.csv_cells import csv_document
from service.errors import ErrorCode, fail
from service.i18n import msg
from service.money import from_minor

_ROWS = text("""
SELECT po.supplier_id, pl.product_id, pl.product_name, po.currency, pl.quantity AS ordered,
       coalesce(pl.shipped_quantity, CASE WHEN po.status = 'SHIPPED' THEN pl.quantity END, 0) AS shipped,
       coalesce((SELECT sum(d.received) FROM delivery_line d WHERE d.tenant_id = po.tenant_id
                 AND d.purchase_order_id = po.id AND d.product_id = pl.product_id), 0)::int AS received,
       coalesce((SELECT sum(d.damaged) FROM delivery_line d WHERE d.tenant_id = po.tenant_id
                 AND d.purchase_order_id = po.id AND d.product_id = pl.product_id), 0)::int AS damaged,
       coalesce((SELECT sum(l.shorted_quantity) FROM customer_order o JOIN order_line l
                 ON l.tenant_id = o.tenant_id AND l.order_id = o.id
                 WHERE o.tenant_id = po.tenant_id AND o.batch_id = po.batch_id
                   AND l.product_id = pl.product_id), 0)::int AS shorted,
       coalesce((SELECT sum(r.amount_minor) FROM customer_order o JOIN refund r
                 ON r.tenant_id = o.tenant_id AND r.order_id = o.id
                 JOIN order_line l ON l.tenant_id = r.tenant_id AND l.id = r.order_line_id
                 WHERE o.tenant_id = po.tenant_id AND o.batch_id = po.batch_id
                   AND l.product_id = pl.product_id), 0)::bigint AS refunded_minor
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


# Per supplier and batch (the batches closed in a period): the same figures summed over products,
# with the paid value kept against compensation coupons (compensationMode COUPON_INSTEAD_OF_REFUND).
_BY_SUPPLIER = text("""
SELECT po.supplier_id, po.batch_id, b.title AS batch_title, b.closed_at, po.currency,
       sum(pl.quantity)::int AS ordered,
       sum(coalesce(pl.shipped_quantity, CASE WHEN po.status = 'SHIPPED' THEN pl.quantity END, 0))::int AS shipped,
       coalesce(sum(d.received), 0)::int AS received, coalesce(sum(d.damaged), 0)::int AS damaged,
       coalesce(sum(o.shorted), 0)::int AS shorted, coalesce(sum(o.refunded_minor), 0)::bigint AS refunded_minor,
       coalesce(sum(o.kept_minor), 0)::bigint AS kept_minor
FROM purchase_order po
JOIN batch b ON b.tenant_id = po.tenant_id AND b.id = po.batch_id
JOIN purchase_order_line pl ON pl.tenant_id = po.tenant_id AND pl.purchase_order_id = po.id
LEFT JOIN LATERAL (SELECT sum(x.received)::int AS received, sum(x.damaged)::int AS damaged FROM delivery_line x
                   WHERE x.tenant_id = po.tenant_id AND x.purchase_order_id = po.id
                     AND x.product_id = pl.product_id) d ON true
LEFT JOIN LATERAL (
  SELECT sum(l.shorted_quantity)::int AS shorted,
         (SELECT sum(r.amount_minor) FROM refund r JOIN order_line rl ON rl.tenant_id = r.tenant_id
           AND rl.id = r.order_line_id JOIN customer_order ro ON ro.tenant_id = r.tenant_id AND ro.id = r.order_id
           WHERE r.tenant_id = po.tenant_id AND ro.batch_id = po.batch_id AND rl.product_id = pl.product_id)
           AS refunded_minor,
         (SELECT sum(c.kept_minor) FROM compensation c JOIN order_line cl ON cl.tenant_id = c.tenant_id
           AND cl.id = c.order_line_id JOIN customer_order co ON co.tenant_id = c.tenant_id AND co.id = c.order_id
           WHERE c.tenant_id = po.tenant_id AND co.batch_id = po.batch_id AND cl.product_id = pl.product_id)
           AS kept_minor
  FROM customer_order o JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id
  WHERE o.tenant_id = po.tenant_id AND o.batch_id = po.batch_id AND l.product_id = pl.product_id) o ON true
WHERE b.closed_at >= :since AND b.closed_at < :until AND (CAST(:s AS uuid) IS NULL OR po.supplier_id = :s)
GROUP BY po.supplier_id, po.batch_id, b.title, b.closed_at, po.currency
ORDER BY b.closed_at, po.batch_id, po.supplier_id
""")


async def supplier_rows(session: AsyncSession, *, supplier_id: UUID | None, since: datetime,
                        until: datetime) -> Sequence[Any]:
    return (await session.execute(_BY_SUPPLIER, {"s": supplier_id, "since": since, "until": until})).all()


SUPPLIER_CSV_HEADER = ("supplier", "batch", "closed at", "ordered", "shipped", "received", "damaged", "shorted",
                       "refunded", "kept for coupons", "currency")


async def supplier_csv(session: AsyncSession, *, supplier_id: UUID | None, since: datetime, until: datetime) -> bytes:
    rows = await supplier_rows(session, supplier_id=supplier_id, since=since, until=until)
    names = {s[0]: s[1] for s in (await session.execute(text("SELECT id, name FROM supplier"))).all()}
    return csv_document(SUPPLIER_CSV_HEADER, ([
        names.get(x.supplier_id, ""), x.batch_title, x.closed_at.isoformat(), x.ordered, x.shipped, x.received,
        x.damaged, x.shorted, from_minor(x.refunded_minor, x.currency), from_minor(x.kept_minor, x.currency),
        x.currency] for x in rows))


MAX_REPORT_DAYS = 366


def report_window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """[since, until): by default the 31 days up to now; at most MAX_REPORT_DAYS long."""
    for value, name in ((since, "since"), (until, "until")):
        if value is not None and value.tzinfo is None:
            raise fail(ErrorCode.INVALID, "Give a time zone.", [name])
    end = until or datetime.now(UTC)
    begin = since or end - timedelta(days=31)
    if not begin < end or end - begin > timedelta(days=MAX_REPORT_DAYS):
        raise fail(ErrorCode.INVALID, msg("aftersales.report_range", days=MAX_REPORT_DAYS), ["since"])
    return begin, end
