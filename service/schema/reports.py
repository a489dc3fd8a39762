"""The console's reports: salesReport (admins)."""

from __future__ import annotations

from datetime import date

import strawberry

from service.errors import UserErrors
from service.reports import exports, queries
from service.reports.queries import Grouping
from service.schema.access import admins, query_error, serial_session
from service.schema.common import Money
from service.schema.context import Context

Info = strawberry.Info[Context, None]

SalesReportGrouping = strawberry.enum(
    Grouping, name="SalesReportGrouping",
    description="DAY: the tenant's local dates (every day of the period, quiet ones too); the others "
                "one row per batch, leader, pickup point, product or supplier that sold or refunded.",
)


@strawberry.input
class SalesReportInput:
    day_from: date = strawberry.field(name="from", description="A local date of the tenant's time zone.")
    day_to: date = strawberry.field(name="to", description="Inclusive: the period is at most 366 days.")
    group_by: Grouping


@strawberry.type(description="Orders: those with an active line in the row, placed in the period, whose "
                             "status counts (every status but PENDING_PAYMENT and CANCELLED). gmv: the "
                             "value of those lines. refunded: the refunds made in the period.")
class SalesReportRow:
    key: str = strawberry.field(description="The local date (YYYY-MM-DD) or the row's global ID; TOTAL.")
    label: str
    orders: int
    customers: int
    units: int
    gmv: Money
    refunded: Money

    @classmethod
    def of(cls, row: queries.ReportRow, currency: str) -> SalesReportRow:
        return cls(key=row.key, label=row.label, orders=row.orders, customers=row.customers, units=row.units,
                   gmv=Money.of(row.gmv_minor, currency), refunded=Money.of(row.refunded_minor, currency))


@strawberry.type
class SalesReport:
    rows: list[SalesReportRow]
    total: SalesReportRow = strawberry.field(
        description="Sums of the rows, but orders and customers: distinct over the whole period.")
    csv_url: str = strawberry.field(description="The same rows as CSV (UTF-8 with a BOM): a signed link, "
                                                "valid for a day; an admin's bearer token works as well.")


@strawberry.type
class ReportsQuery:
    @strawberry.field(description="Admins: sales over a period of the tenant's local dates, grouped.")
    @admins
    async def sales_report(self, info: Info, input: SalesReportInput) -> SalesReport:
        context = info.context
        tenant = context.tenant
        try:
            queries.check_period(input.day_from, input.day_to)
        except UserErrors as e:
            raise query_error(e) from None
        async with serial_session(context) as session:
            report = await queries.sales_report(
                session, tenant_id=tenant.id, timezone=tenant.timezone, day_from=input.day_from,
                day_to=input.day_to, grouping=input.group_by)
        base = str(context.request.base_url).rstrip("/")
        return SalesReport(
            rows=[SalesReportRow.of(r, tenant.currency) for r in report.rows],
            total=SalesReportRow.of(report.total, tenant.currency),
            csv_url=base + exports.signed_path(tenant.id, input.day_from, input.day_to, input.group_by),
        )
