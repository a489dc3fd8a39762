"""The sales report as CSV (service/csv_cells.py: UTF-8 with a BOM, no cell runs as a formula),
the same rows as the GraphQL answer, then the total. A link names its period and grouping and is
signed for its tenant, so the link itself is the authentication, like a purchase order's."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode
from uuid import UUID

from service.config import get_settings
from service.csv_cells import csv_document
from service.money import from_minor
from service.reports.queries import Grouping, Report

LINK_TTL_SECONDS = 24 * 3600
PATH = "/exports/sales-report.csv"
HEADER = ["key", "label", "orders", "customers", "units", "gmv", "refunded", "currency"]


def _signature(tenant_id: UUID, day_from: date, day_to: date, grouping: Grouping, expires: int) -> str:
    key = hashlib.sha256(b"sales-report-link:" + get_settings().jwt_secret_value.encode()).digest()
    message = f"{tenant_id}:{day_from.isoformat()}:{day_to.isoformat()}:{grouping.value}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_path(tenant_id: UUID, day_from: date, day_to: date, grouping: Grouping, now: float | None = None) -> str:
    expires = int((now or time.time()) + LINK_TTL_SECONDS)
    query = {"from": day_from.isoformat(), "to": day_to.isoformat(), "groupBy": grouping.value,
             "tenant": str(tenant_id), "expires": str(expires),
             "signature": _signature(tenant_id, day_from, day_to, grouping, expires)}
    return f"{PATH}?{urlencode(query)}"


def signature_valid(tenant_id: UUID, day_from: date, day_to: date, grouping: Grouping, expires: int,
                    signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(tenant_id, day_from, day_to, grouping, expires), signature)


def file_name(day_from: date, day_to: date, grouping: Grouping) -> str:
    return f"sales-{grouping.value.lower()}-{day_from.isoformat()}-{day_to.isoformat()}.csv"


def report_csv(report: Report, currency: str) -> bytes:
    def money(minor: int) -> Decimal:
        return from_minor(minor, currency)

    return csv_document(HEADER, (
        [r.key, r.label, r.orders, r.customers, r.units, money(r.gmv_minor), money(r.refunded_minor), currency]
        for r in [*report.rows, report.total]
    ))
