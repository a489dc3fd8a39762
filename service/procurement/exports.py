"""A purchase order as CSV (service/csv_cells.py: UTF-8 with a BOM, no cell runs as a formula):
one row per product x pickup point. Links are signed and expire, so the link itself is the
authentication (a supplier can open it from an e-mail); a bearer token works too."""

from __future__ import annotations

import hashlib
import hmac
import time
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.config import get_settings
from service.csv_cells import csv_document
from service.money import from_minor

LINK_TTL_SECONDS = 7 * 24 * 3600


def _signature(tenant_id: UUID, purchase_order_id: UUID, expires: int) -> str:
    key = hashlib.sha256(b"csv-link:" + get_settings().jwt_secret_value.encode()).digest()
    message = f"{tenant_id}:{purchase_order_id}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_path(tenant_id: UUID, purchase_order_id: UUID, global_id: str, now: float | None = None) -> str:
    expires = int((now or time.time()) + LINK_TTL_SECONDS)
    return (f"/exports/purchase-orders/{global_id}.csv?tenant={tenant_id}&expires={expires}"
            f"&signature={_signature(tenant_id, purchase_order_id, expires)}")


def signature_valid(tenant_id: UUID, purchase_order_id: UUID, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(tenant_id, purchase_order_id, expires), signature)


HEADER = ["purchase_order", "batch", "supplier", "product", "unit", "pickup_point", "address",
          "quantity", "unit_cost", "total_cost", "currency", "shipped", "received", "damaged"]


async def purchase_order_csv(session: AsyncSession, *, purchase_order_id: UUID) -> tuple[str, bytes] | None:
    """(file name, UTF-8 CSV with BOM), or None when the purchase order is not visible."""
    rows = (
        await session.execute(
            text("SELECT po.number, b.title, s.name AS supplier, l.product_name, l.unit, pp.name AS point, "
                 "pp.address, d.quantity, l.unit_cost_minor, po.currency, x.shipped, x.received, "
                 "CASE WHEN x.received IS NOT NULL THEN x.damaged END AS damaged "
                 "FROM purchase_order po "
                 "JOIN batch b ON b.tenant_id = po.tenant_id AND b.id = po.batch_id "
                 "JOIN supplier s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id "
                 "JOIN purchase_order_line l ON l.tenant_id = po.tenant_id AND l.purchase_order_id = po.id "
                 "JOIN purchase_order_delivery d ON d.tenant_id = l.tenant_id "
                 "  AND d.purchase_order_id = l.purchase_order_id AND d.product_id = l.product_id "
                 "JOIN pickup_point pp ON pp.tenant_id = d.tenant_id AND pp.id = d.pickup_point_id "
                 "LEFT JOIN delivery_line x ON x.tenant_id = d.tenant_id AND x.purchase_order_id = d.purchase_order_id "
                 "  AND x.product_id = d.product_id AND x.pickup_point_id = d.pickup_point_id "
                 "WHERE po.id = :id ORDER BY l.product_name, pp.name"),
            {"id": purchase_order_id},
        )
    ).all()
    if not rows:
        exists = (await session.execute(text("SELECT number FROM purchase_order WHERE id = :id"),
                                        {"id": purchase_order_id})).scalar_one_or_none()
        if exists is None:
            return None
        return f"{exists}.csv", csv_document(HEADER, [])
    body = csv_document(HEADER, (
        [r.number, r.title, r.supplier, r.product_name, r.unit, r.point, r.address, r.quantity,
         from_minor(r.unit_cost_minor, r.currency), from_minor(r.unit_cost_minor * r.quantity, r.currency),
         r.currency, r.shipped, r.received, r.damaged]
        for r in rows))
    return f"{rows[0].number}.csv", body
