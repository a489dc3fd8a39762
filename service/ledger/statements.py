"""Monthly statements and what is owed on a date. A balance here is what the brand owes the
beneficiary: frozen + available + in withdrawal, summed from the entries before a moment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.csv_cells import csv_document
from service.money import from_minor

_OWED = "(frozen_minor + available_minor + in_withdrawal_minor)"


@dataclass
class Statement:
    opening_minor: int
    closing_minor: int
    lines: list[tuple[Any, int]] = field(default_factory=list)  # (entry row, owed after it)


async def statement(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, month: date,
                    tz: str) -> Statement:
    bounds = {"t": tenant_id, "b": beneficiary_id, "m": month, "tz": tz}
    start = "(CAST(:m AS date)::timestamp AT TIME ZONE :tz)"
    end = "((CAST(:m AS date) + interval '1 month')::timestamp AT TIME ZONE :tz)"
    opening = int((await session.execute(text(
        f"SELECT coalesce(sum({_OWED}), 0)::bigint FROM ledger_entry WHERE tenant_id = :t AND beneficiary_id = :b "
        f"AND at < {start}"),
        bounds)).scalar_one())
    rows = (await session.execute(text(
        f"SELECT *, {_OWED} AS owed_delta FROM ledger_entry "
        f"WHERE tenant_id = :t AND beneficiary_id = :b AND at >= {start} AND at < {end} ORDER BY at, seq"),
        bounds)).all()
    balance, lines = opening, []
    for r in rows:
        balance += r.owed_delta
        lines.append((r, balance))
    return Statement(opening_minor=opening, closing_minor=balance, lines=lines)


_START = "(CAST(:m AS date)::timestamp AT TIME ZONE :tz)"
_END = "((CAST(:m AS date) + interval '1 month')::timestamp AT TIME ZONE :tz)"


async def totals(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, month: date,
                 tz: str) -> tuple[int, int]:
    """(opening, closing) of a month without reading its lines: two sums over the entries."""
    row = (await session.execute(text(
        f"SELECT coalesce(sum({_OWED}) FILTER (WHERE at < {_START}), 0)::bigint AS opening, "
        f"coalesce(sum({_OWED}), 0)::bigint AS closing FROM ledger_entry "
        f"WHERE tenant_id = :t AND beneficiary_id = :b AND at < {_END}"),
        {"t": tenant_id, "b": beneficiary_id, "m": month, "tz": tz})).one()
    return int(row.opening), int(row.closing)


@dataclass
class Lines:
    lines: list[tuple[Any, int]]  # (entry row, owed after it), oldest first
    has_next: bool
    count: int | None = None


async def lines_page(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, month: date, tz: str,
                     first: int, after: tuple[datetime, UUID] | None, opening: int) -> Lines:
    """`first` lines of the month after the entry `after` names (its at and id), oldest first: the
    balance before the page is the opening plus the month's entries up to that one (one sum), so
    a page costs its own rows whatever its place in the month."""
    params: dict[str, Any] = {"t": tenant_id, "b": beneficiary_id, "m": month, "tz": tz, "n": first + 1}
    month_rows = f"tenant_id = :t AND beneficiary_id = :b AND at >= {_START} AND at < {_END}"
    where = month_rows
    balance = opening
    if after is not None:
        params.update(at=after[0], id=after[1])
        # The cursor's entry, as (at, seq): the statement's order.
        cursor = "(:at, (SELECT seq FROM ledger_entry WHERE tenant_id = :t AND id = :id))"
        where += f" AND (at, seq) > {cursor}"
        balance += int((await session.execute(text(
            f"SELECT coalesce(sum({_OWED}), 0)::bigint FROM ledger_entry WHERE {month_rows} AND (at, seq) <= {cursor}"),
            params)).scalar_one())
    rows = (await session.execute(text(
        f"SELECT *, {_OWED} AS owed_delta FROM ledger_entry WHERE {where} ORDER BY at, seq LIMIT :n"), params)).all()
    out = []
    for r in rows[:first]:
        balance += r.owed_delta
        out.append((r, balance))
    return Lines(lines=out, has_next=len(rows) > first)


async def line_count(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, month: date, tz: str) -> int:
    return int((await session.execute(text(
        f"SELECT count(*) FROM ledger_entry WHERE tenant_id = :t AND beneficiary_id = :b AND at >= {_START} "
        f"AND at < {_END}"), {"t": tenant_id, "b": beneficiary_id, "m": month, "tz": tz})).scalar_one())


# Who is owed as a leader: the same people who withdraw as one (withdrawalRequest); everyone else
# with entries (an applicant pending or rejected, say) is owed, and withdraws, as a sharer.
LEADS = "('APPROVED', 'SUSPENDED')"


@dataclass(frozen=True)
class Owed:
    leader_id: UUID
    frozen: int
    available: int
    in_withdrawal: int


async def owed_on(session: AsyncSession, *, tenant_id: UUID, on: date, tz: str) -> list[Owed]:
    """Per leader with entries: the buckets at the end of `on` in the tenant's time zone. All the
    leader's user's entries count, distribution commissions too (one balance per person)."""
    rows = (await session.execute(text("""
SELECT l.id AS leader_id, sum(e.frozen_minor)::bigint AS frozen, sum(e.available_minor)::bigint AS available,
       sum(e.in_withdrawal_minor)::bigint AS in_withdrawal
FROM ledger_entry e JOIN leader l ON l.tenant_id = e.tenant_id AND l.user_id = e.beneficiary_id
WHERE e.tenant_id = :t AND l.tenant_id = :t AND l.status IN {LEADS}
  AND e.at < ((CAST(:d AS date) + 1)::timestamp AT TIME ZONE :tz)
GROUP BY l.id ORDER BY l.id""".replace("{LEADS}", LEADS)), {"t": tenant_id, "d": on, "tz": tz})).all()
    return [Owed(r.leader_id, r.frozen, r.available, r.in_withdrawal) for r in rows]


@dataclass(frozen=True)
class SharerOwed:
    user_id: UUID
    name: str
    frozen: int
    available: int
    in_withdrawal: int


async def sharers_owed_on(session: AsyncSession, *, tenant_id: UUID, on: date, tz: str) -> list[SharerOwed]:
    """Per person with entries who is no leader (a sharer's distribution commissions): the buckets
    at the end of `on` in the tenant's time zone. Leaders are in owed_on()."""
    rows = (await session.execute(text("""
SELECT e.beneficiary_id, u.display_name, sum(e.frozen_minor)::bigint AS frozen,
       sum(e.available_minor)::bigint AS available, sum(e.in_withdrawal_minor)::bigint AS in_withdrawal
FROM ledger_entry e JOIN app_user u ON u.tenant_id = e.tenant_id AND u.id = e.beneficiary_id
WHERE e.tenant_id = :t AND u.tenant_id = :t AND e.at < ((CAST(:d AS date) + 1)::timestamp AT TIME ZONE :tz)
  AND NOT EXISTS (SELECT 1 FROM leader l WHERE l.tenant_id = :t AND l.user_id = e.beneficiary_id
                    AND l.status IN {LEADS})
GROUP BY e.beneficiary_id, u.display_name ORDER BY e.beneficiary_id""".replace("{LEADS}", LEADS)),
        {"t": tenant_id, "d": on, "tz": tz})).all()
    return [SharerOwed(r.beneficiary_id, r.display_name, r.frozen, r.available, r.in_withdrawal) for r in rows]


def statement_csv(st: Statement, *, month: date, currency: str, tz: str) -> bytes:
    """UTF-8 with BOM (Excel and WPS read it as such), spreadsheet-safe cells."""
    def money(minor: int) -> Any:
        return from_minor(minor, currency)

    rows: list[list[Any]] = [["", "OPENING", "", money(st.opening_minor), currency, ""]]
    for r, balance in st.lines:
        at = r.at.astimezone(ZoneInfo(tz)).isoformat(timespec="seconds")
        rows.append([at, r.kind, money(r.amount_minor), money(balance), currency, r.reason or ""])
    rows.append(["", "CLOSING", "", money(st.closing_minor), currency, ""])
    return csv_document(["时间 at", "类型 kind", "金额 amount", "余额 balance", "币种 currency", "说明 reason"], rows)
