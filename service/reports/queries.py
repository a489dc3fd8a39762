"""The sales report: one statement (sql/sales_report.sql) for the figures, one for the labels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from uuid import UUID

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.errors import ErrorCode, fail
from service.i18n import msg

# The longest period: a year, leap day included.
MAX_DAYS = 366
# For this transaction only: a month of a busy tenant's lines (tens of thousands) then fits the
# hash aggregates in memory instead of spilling to disk (the default is 4MB).
WORK_MEM = "64MB"


class Grouping(str, Enum):
    DAY = "DAY"
    BATCH = "BATCH"
    LEADER = "LEADER"
    PICKUP_POINT = "PICKUP_POINT"
    PRODUCT = "PRODUCT"
    SUPPLIER = "SUPPLIER"


# Each grouping's rows: the global ID type of its keys and where their labels are.
LABELS: dict[Grouping, tuple[str, str, str]] = {
    Grouping.BATCH: ("Batch", "batch", "title"),
    Grouping.LEADER: ("Leader", "leader", "display_name"),
    Grouping.PICKUP_POINT: ("PickupPoint", "pickup_point", "name"),
    Grouping.PRODUCT: ("Product", "product", "name"),
    Grouping.SUPPLIER: ("Supplier", "supplier", "name"),
}


@dataclass(frozen=True)
class ReportRow:
    key: str  # a local date (DAY, YYYY-MM-DD) or the global ID of the row's batch, leader...
    label: str
    orders: int
    customers: int
    units: int
    gmv_minor: int
    refunded_minor: int


@dataclass(frozen=True)
class Report:
    rows: list[ReportRow]
    total: ReportRow


@cache
def _statement() -> TextClause:
    return text((Path(__file__).parent / "sql" / "sales_report.sql").read_text())


def check_period(day_from: date, day_to: date) -> None:
    """A period the report answers: from <= to, at most MAX_DAYS days (both inclusive)."""
    if day_from > day_to:
        raise fail(ErrorCode.INVALID, "The period's start is after its end.", ["input", "from"])
    if (day_to - day_from).days + 1 > MAX_DAYS:
        raise fail(ErrorCode.INVALID, msg("reports.period_max", days=MAX_DAYS), ["input", "to"])


async def sales_report(session: AsyncSession, *, tenant_id: UUID, timezone: str, day_from: date,
                       day_to: date, grouping: Grouping) -> Report:
    check_period(day_from, day_to)
    await session.execute(text("SELECT set_config('work_mem', :m, true)"), {"m": WORK_MEM})
    found = (await session.execute(_statement(), {
        "tenant": tenant_id, "tz": timezone, "day_from": day_from, "day_to": day_to,
        "grouping": grouping.value,
    })).all()
    total = ReportRow("TOTAL", "Total", 0, 0, 0, 0, 0)
    figures: dict[str, tuple[int, int, int, int, int]] = {}
    for r in found:
        values = (r.orders, r.customers, r.units, r.gmv_minor, r.refunded_minor)
        if r.is_total:
            total = ReportRow("TOTAL", "Total", *values)
        elif grouping is Grouping.DAY:
            figures[r.key_day.isoformat()] = values
        else:
            figures[str(r.key_id)] = values
    if grouping is Grouping.DAY:
        # every day of the period, a quiet one too (a chart's axis has no gaps)
        days = [(day_from + timedelta(days=n)).isoformat() for n in range((day_to - day_from).days + 1)]
        rows = [ReportRow(d, d, *figures.get(d, (0, 0, 0, 0, 0))) for d in days]
        return Report(rows, total)
    labels = await _labels(session, tenant_id, grouping, [UUID(k) for k in figures])
    type_name = LABELS[grouping][0]
    rows = [ReportRow(global_id.encode(type_name, UUID(k)), labels.get(UUID(k), ""), *v)
            for k, v in figures.items()]
    rows.sort(key=lambda r: (-r.gmv_minor, r.label, r.key))
    return Report(rows, total)


async def _labels(session: AsyncSession, tenant_id: UUID, grouping: Grouping, ids: list[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    _, table, column = LABELS[grouping]
    # table and column come from LABELS, never from the caller
    found = await session.execute(
        text(f"SELECT id, {column} AS label FROM {table} WHERE tenant_id = :t AND id = ANY(:ids)"),  # noqa: S608
        {"t": tenant_id, "ids": ids},
    )
    return {r.id: r.label for r in found}
