"""The per-sharer report as CSV (UTF-8 with a BOM, spreadsheet-safe cells), behind a signed link
like the sales report's: the link names its tenant and period and is valid for a day."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Sequence
from datetime import date
from urllib.parse import urlencode
from uuid import UUID

from service.config import get_settings
from service.csv_cells import csv_document
from service.growth.queries import SharerRow
from service.money import from_minor

LINK_TTL_SECONDS = 24 * 3600
PATH = "/exports/sharer-report.csv"
HEADER = ["sharer", "name", "visits", "bindings", "orders", "gmv", "commission", "currency"]


def _signature(tenant_id: UUID, day_from: date, day_to: date, expires: int) -> str:
    key = hashlib.sha256(b"sharer-report-link:" + get_settings().jwt_secret_value.encode()).digest()
    message = f"{tenant_id}:{day_from.isoformat()}:{day_to.isoformat()}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def signed_path(tenant_id: UUID, day_from: date, day_to: date, now: float | None = None) -> str:
    expires = int((now or time.time()) + LINK_TTL_SECONDS)
    query = {"from": day_from.isoformat(), "to": day_to.isoformat(), "tenant": str(tenant_id),
             "expires": str(expires), "signature": _signature(tenant_id, day_from, day_to, expires)}
    return f"{PATH}?{urlencode(query)}"


def signature_valid(tenant_id: UUID, day_from: date, day_to: date, expires: int, signature: str) -> bool:
    if expires < time.time():
        return False
    return hmac.compare_digest(_signature(tenant_id, day_from, day_to, expires), signature)


def report_csv(rows: Sequence[SharerRow], currency: str, sharer_ids: Sequence[str]) -> bytes:
    return csv_document(HEADER, (
        [sid, r.name, r.visits, r.bindings, r.orders, from_minor(r.gmv_minor, currency),
         from_minor(r.commission_minor, currency), currency]
        for r, sid in zip(rows, sharer_ids, strict=True)
    ))
