"""The coupon report as CSV (UTF-8 with BOM, spreadsheet-safe cells)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service import global_id
from service.csv_cells import csv_document
from service.money import from_minor

HEADER = ("template_id", "name", "kind", "total_quantity", "claimed", "reserved", "used", "expired",
          "discount_given", "discount_used", "budget", "currency", "ended")


def report_csv(rows: Sequence[Any]) -> bytes:
    def money(minor: int | None, currency: str) -> Any:
        return "" if minor is None else from_minor(minor, currency)

    return csv_document(HEADER, (
        (global_id.encode("CouponTemplate", r.id), r.name, r.kind, "" if r.total_quantity is None else r.total_quantity,
         r.claimed, r.reserved, r.used, r.expired, money(r.discount_given_minor, r.currency),
         money(r.discount_used_minor, r.currency), money(r.budget_minor, r.currency), r.currency,
         "yes" if r.ended_at is not None else "no")
        for r in rows))
