"""Leader money: balances, ledger entries, withdrawals, statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Self
from uuid import UUID
from zoneinfo import ZoneInfo

import strawberry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.errors import Collector, ErrorCode, PermissionDenied, fail
from service.leaders.operations import approved_leader_of_user
from service.ledger import models, operations, statements, today
from service.ledger.operations import mask_account
from service.pagination import Page, check_first, decode_cursor, encode_cursor
from service.schema.access import (
    ADMINS,
    Caller,
    admins,
    argument_error,
    check_page,
    decode,
    existing,
    get_loader,
    is_admin,
    requires,
    serial_session,
)
from service.schema.common import Money, Node, UserError, describe_values
from service.schema.context import Context
from service.schema.event_nodes import User
from service.schema.leaders.dataloaders import LeaderByIdLoader, PickupPointByIdLoader
from service.schema.leaders.types import Leader, PickupPoint
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.orders import Order, OrderByIdLoader
from service.schema.pagination import Connection
from service.schema.procurement import viewer_leader_id
from service.tenants.principal import PrincipalKind
from service.validation import money_value

Info = strawberry.Info[Context, None]

LedgerEntryKind = strawberry.enum(models.LedgerEntryKind, name="LedgerEntryKind",
                                  description="What a ledger entry records.")
describe_values(LedgerEntryKind, {
    "EARNED": "A commission was earned (its order picked up): frozen for the tenant's commissionFreezeDays.",
    "RELEASED": "The freeze ended: the commission moved from frozen to available.",
    "REVERSED": "A refund took back part or all of a commission while it was still frozen.",
    "CLAWBACK": "A refund took back commission that was already available (the balance may go negative).",
    "WITHDRAWAL": "A withdrawal was requested: its amount left available and is in withdrawal.",
    "WITHDRAWAL_RETURNED": "A withdrawal was rejected or its payment failed: its amount is available again.",
    "FEE": "The withdrawal fee, kept when the withdrawal was paid.",
    "ADJUSTMENT": "An admin's correction of the available balance, with its reason.",
    "DISTRIBUTION_EARNED": "A distribution (referral) commission was earned: frozen like EARNED.",
    "WITHDRAWAL_PAID": "A withdrawal was paid out (its amount less the fee).",
    "DISTRIBUTION_RELEASED": "The freeze ended: a distribution commission moved from frozen to available.",
    "DISTRIBUTION_REVERSED": "A refund took back part or all of a distribution commission while it was frozen.",
    "DISTRIBUTION_CLAWBACK": "A refund took back distribution commission that was already available.",
})
WithdrawalStatus = strawberry.enum(models.WithdrawalStatus, name="WithdrawalStatus",
                                   description="Where a withdrawal is.")
describe_values(WithdrawalStatus, {
    "REQUESTED": "Requested by the leader, waiting for an admin.",
    "APPROVED": "Approved, waiting for the payment (withdrawalMarkPaid / withdrawalMarkFailed).",
    "REJECTED": "Rejected by an admin; its amount is available again.",
    "PAID": "Paid out.",
    "FAILED": "The payment failed; its amount is available again.",
})
PayoutMethod = strawberry.enum(models.PayoutMethod, name="PayoutMethod", description="How a withdrawal is paid.")
describe_values(PayoutMethod, {
    "BANK": "A bank transfer.",
    "ALIPAY": "An Alipay transfer.",
    "WECHAT": "A WeChat Pay transfer.",
})


@strawberry.type(name="LeaderBalance", description="A leader's money, derived from their ledger entries.")
class LeaderBalance:
    pending: Money = strawberry.field(description="Commissions of confirmed orders not picked up yet.")
    frozen: Money = strawberry.field(description="Earned, in the freeze (the tenant's commissionFreezeDays).")
    available: Money = strawberry.field(description="What may be withdrawn; negative after a clawback, which "
                                                    "later earnings recover (it then blocks withdrawals).")
    withdrawn: Money = strawberry.field(description="Paid out so far (after fees).")
    in_withdrawal: Money = strawberry.field(description="Requested or approved withdrawals not paid yet.")
    owed: Money = strawberry.field(description="What the brand owes the leader now: frozen + available + in "
                                               "withdrawal.")

    @classmethod
    def of(cls, b: operations.Balance) -> LeaderBalance:
        c = b.currency
        return cls(pending=Money.of(b.pending_minor, c), frozen=Money.of(b.frozen_minor, c),
                   available=Money.of(b.available_minor, c), withdrawn=Money.of(b.withdrawn_minor, c),
                   in_withdrawal=Money.of(b.in_withdrawal_minor, c),
                   owed=Money.of(b.frozen_minor + b.available_minor + b.in_withdrawal_minor, c))


@strawberry.type(name="UserBalance", description="The signed-in person's money, derived from their ledger entries: "
                                                "a sharer's distribution commissions, and for a leader their leader "
                                                "commissions too (one balance per person).")
class UserBalance:
    pending: Money = strawberry.field(description="Commissions of confirmed orders not picked up yet.")
    frozen: Money = strawberry.field(description="Earned, in the freeze (the tenant's commissionFreezeDays).")
    available: Money = strawberry.field(description="Past the freeze; negative after a clawback, which later "
                                                    "earnings recover.")
    withdrawn: Money = strawberry.field(description="Paid out so far (after fees).")
    in_withdrawal: Money = strawberry.field(description="Requested or approved withdrawals not paid yet.")
    owed: Money = strawberry.field(description="What the brand owes them now: frozen + available + in withdrawal.")

    @classmethod
    def of(cls, b: operations.Balance) -> UserBalance:
        c = b.currency
        return cls(pending=Money.of(b.pending_minor, c), frozen=Money.of(b.frozen_minor, c),
                   available=Money.of(b.available_minor, c), withdrawn=Money.of(b.withdrawn_minor, c),
                   in_withdrawal=Money.of(b.in_withdrawal_minor, c),
                   owed=Money.of(b.frozen_minor + b.available_minor + b.in_withdrawal_minor, c))


@strawberry.type(name="PayableWithdrawal", description="Never in the schema: the fields Withdrawal and "
                                                      "SharerWithdrawal share.")
class _Payable(Node):
    """What a leader's and a sharer's withdrawal both show (one table, one state machine)."""

    id: strawberry.ID = strawberry.field(description="The withdrawal's global ID.")
    status: WithdrawalStatus = strawberry.field(description="Where it is.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    method: PayoutMethod = strawberry.field(description="How it is paid.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    requested_at: datetime = strawberry.field(description="When it was requested.")
    decided_at: datetime | None = strawberry.field(description="When an admin approved or rejected it.")
    paid_at: datetime | None = strawberry.field(description="When it was marked paid.")
    payout_reference: str | None = strawberry.field(description="The payment's reference from the brand's back end.")
    reason: str | None = strawberry.field(description="Why it was rejected or failed.")
    row: strawberry.Private[Any]
    TYPE: ClassVar[str] = "Withdrawal"

    @classmethod
    def of(cls, row: Any) -> Self:
        return cls(id=strawberry.ID(global_id.encode(cls.TYPE, row.id)), status=models.WithdrawalStatus(row.status),
                   method=models.PayoutMethod(row.method), requested_at=row.requested_at, decided_at=row.decided_at,
                   paid_at=row.paid_at, payout_reference=row.payout_reference, reason=row.reason, row=row)

    @strawberry.field(description="The amount taken from the available balance.")
    def amount(self) -> Money:
        return Money.of(self.row.amount_minor, self.row.currency)

    @strawberry.field(description="The fee: the tenant's rate (rounded half-up once) plus its fixed fee.")
    def fee(self) -> Money:
        return Money.of(self.row.fee_minor, self.row.currency)

    @strawberry.field(description="What is paid out: amount - fee.")
    def payout(self) -> Money:
        return Money.of(self.row.payout_minor, self.row.currency)

    @strawberry.field(description="The payout account with all but its last characters hidden.")
    def account_masked(self) -> str:
        return mask_account(self.row.account)

    @strawberry.field(description="The account holder's name.")
    def account_name(self) -> str:
        return str(self.row.account_name)

    @strawberry.field(description="The whole payout account, for the brand's back end (an API key) that pays it; "
                                  "null for everyone else, who see accountMasked.")
    def account(self, info: Info) -> str | None:
        return str(self.row.account) if info.context.principal.kind is PrincipalKind.API_KEY else None


@strawberry.type(name="Withdrawal", description="A leader's request to be paid their available balance.")
class Withdrawal(_Payable):
    @strawberry.field(description="The leader who asked for it.")
    async def leader(self, info: Info) -> Leader:
        return Leader.of(await get_loader(info.context, LeaderByIdLoader).load(self.row.leader_id))


@strawberry.type(name="SharerWithdrawal", description="A sharer's (分销员, a customer who is not a leader) request "
                                                      "to be paid their available balance: the leaders' rules, state "
                                                      "machine and ledger entries (sharerWithdrawalRequest).")
class SharerWithdrawal(_Payable):
    TYPE: ClassVar[str] = "SharerWithdrawal"

    @strawberry.field(description="The sharer who asked for it.")
    async def sharer(self, info: Info) -> User:
        name = getattr(self.row, "sharer_name", None)
        if name is None:
            async with serial_session(info.context) as session:
                name = (await session.execute(
                    text("SELECT display_name FROM app_user WHERE tenant_id = :t AND id = :u"),
                    {"t": self.row.tenant_id, "u": self.row.beneficiary_id})).scalar_one()
        return User(id=strawberry.ID(global_id.encode("User", self.row.beneficiary_id)), display_name=name)


@strawberry.type(name="LedgerEntry", description="One change to a leader's money. Entries are never changed or "
                                                 "deleted; balances are their sums.")
class LedgerEntry(Node):
    id: strawberry.ID = strawberry.field(description="The entry's global ID.")
    kind: LedgerEntryKind = strawberry.field(description="What it records.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    at: datetime = strawberry.field(description="When it was written.")
    reason: str | None = strawberry.field(description="An adjustment's reason, a rejection's or failure's reason, "
                                                      "a payment's reference.")
    row: strawberry.Private[Any]

    @classmethod
    def of(cls, row: Any) -> LedgerEntry:
        return cls(id=strawberry.ID(global_id.encode("LedgerEntry", row.id)), kind=models.LedgerEntryKind(row.kind),
                   at=row.at, reason=row.reason, row=row)

    @strawberry.field(description="Signed: what it added to (or, negative, took from) the leader's money.")
    def amount(self) -> Money:
        return Money.of(self.row.amount_minor, self.row.currency)

    @strawberry.field(description="The order whose commission it is about; null for other entries.")
    async def order(self, info: Info) -> Order | None:
        if self.row.order_id is None:
            return None
        row = await get_loader(info.context, OrderByIdLoader).load(self.row.order_id)
        return Order.of(row) if row is not None else None

    @strawberry.field(description="The leader's withdrawal it is about; null for other entries (a sharer's "
                                  "withdrawal is sharerWithdrawal).")
    async def withdrawal(self, info: Info) -> Withdrawal | None:
        row = await self._withdrawal(info)
        return Withdrawal.of(row) if row is not None and not operations.is_sharers(row) else None

    @strawberry.field(description="The sharer's withdrawal it is about; null for other entries.")
    async def sharer_withdrawal(self, info: Info) -> SharerWithdrawal | None:
        row = await self._withdrawal(info)
        return SharerWithdrawal.of(row) if row is not None and operations.is_sharers(row) else None

    async def _withdrawal(self, info: Info) -> Any:
        if self.row.withdrawal_id is None:
            return None
        async with serial_session(info.context) as session:
            return await _withdrawal_row(session, self.row.tenant_id, self.row.withdrawal_id)


@strawberry.type(name="LeaderStatementLine", description="One entry of a statement with the balance after it.")
class LeaderStatementLine:
    entry: LedgerEntry = strawberry.field(description="The entry.")
    balance: Money = strawberry.field(description="What the brand owed the leader after it (frozen + available + "
                                                  "in withdrawal).")


_LINES_FIRST = Annotated[int | None, strawberry.argument(
    description="How many lines to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE). Left out (with no after): every "
                "line of the month; a busy leader's month has thousands, so page with it or with linesConnection.")]
_PAGE_FIRST = Annotated[int | None, strawberry.argument(
    description="How many lines to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE).")]
_LINES_AFTER = Annotated[str | None, strawberry.argument(
    description="The cursor of the line before the page (linesConnection's endCursor); leave it out for the first "
                "page.")]


@strawberry.type(name="LeaderStatement", description="A leader's month: opening balance, each entry, closing "
                                                     "balance (balances are what the brand owes the leader).")
class LeaderStatement:
    month: str = strawberry.field(description="The month, YYYY-MM, in the tenant's time zone.")
    opening: Money = strawberry.field(description="Owed at the month's start.")
    closing: Money = strawberry.field(description="Owed at the month's end (or now, for the current month).")
    csv_url: str = strawberry.field(description="The same statement as CSV (UTF-8 with BOM), for the same caller "
                                                "(send the bearer token).")
    beneficiary_id: strawberry.Private[UUID]
    first_day: strawberry.Private[date]
    opening_minor: strawberry.Private[int]

    @strawberry.field(description="The month's entries, oldest first, each with the balance after it: every line, "
                                  "or a page of them with first (and after).")
    async def lines(self, info: Info, first: _LINES_FIRST = None,
                    after: _LINES_AFTER = None) -> list[LeaderStatementLine]:
        context = info.context
        c = context.tenant.currency
        if first is None and after is None:
            async with serial_session(context) as session:
                st = await statements.statement(session, tenant_id=context.tenant.id,
                                                beneficiary_id=self.beneficiary_id, month=self.first_day,
                                                tz=context.tenant.timezone)
            return [LeaderStatementLine(entry=LedgerEntry.of(r), balance=Money.of(b, c)) for r, b in st.lines]
        page = await self._page(context, check_page(first, after, default=100), after)
        return list(page.items)

    @strawberry.field(description="The month's entries, oldest first, each with the balance after it, a page at a "
                                  "time (the leader client's statement reads it so, with \"load more\").")
    async def lines_connection(self, info: Info, first: _PAGE_FIRST = 50,
                               after: _LINES_AFTER = None) -> Connection[LeaderStatementLine]:
        context = info.context
        page = await self._page(context, check_page(first, after, default=50), after)
        return Connection.of(page, lambda line: line)

    async def _page(self, context: Context, size: int, after: str | None) -> Page[LeaderStatementLine]:
        c, tz = context.tenant.currency, context.tenant.timezone
        async with serial_session(context) as session:
            got = await statements.lines_page(session, tenant_id=context.tenant.id, beneficiary_id=self.beneficiary_id,
                                              month=self.first_day,
                                              tz=tz, first=size, after=decode_cursor(after) if after else None,
                                              opening=self.opening_minor)

        async def count(session: AsyncSession) -> int:
            return await statements.line_count(session, tenant_id=context.tenant.id,
                                               beneficiary_id=self.beneficiary_id, month=self.first_day, tz=tz)

        return Page(items=[LeaderStatementLine(entry=LedgerEntry.of(r), balance=Money.of(b, c)) for r, b in got.lines],
                    cursors=[encode_cursor(r.at, r.id) for r, _ in got.lines], has_next=got.has_next,
                    has_previous=after is not None, listed=count)


@strawberry.type(name="WithdrawalQuote", description="What a withdrawal of an amount would cost, before asking.")
class WithdrawalQuote:
    amount: Money = strawberry.field(description="The amount asked for.")
    fee: Money = strawberry.field(description="The tenant's rate of it (rounded half-up) plus its fixed fee.")
    payout: Money = strawberry.field(description="What would be paid out: amount - fee.")
    minimum: Money = strawberry.field(description="The tenant's minimum withdrawal.")
    daily_limit: int = strawberry.field(description="How many withdrawals a leader (or a sharer) may request per day "
                                                    "(the day ends at the tenant's midnight).")


@strawberry.type(name="LeaderOwed", description="What the brand owes one leader on a date.")
class LeaderOwed:
    frozen: Money = strawberry.field(description="Frozen then.")
    available: Money = strawberry.field(description="Available then (may be negative).")
    in_withdrawal: Money = strawberry.field(description="In withdrawal then.")
    owed: Money = strawberry.field(description="frozen + available + inWithdrawal.")
    leader_id: strawberry.Private[UUID]

    @strawberry.field(description="The leader.")
    async def leader(self, info: Info) -> Leader:
        return Leader.of(await get_loader(info.context, LeaderByIdLoader).load(self.leader_id))


@strawberry.type(name="LeaderTodayPoint", description="One pickup point's orders placed on the day.")
class LeaderTodayPoint:
    orders: int = strawberry.field(description="Orders placed that day that pay commission (paid or confirmed, "
                                               "picked up or not; not those awaiting payment or cancelled).")
    goods_value: Money = strawberry.field(description="Their goods: units not refunded x unit price.")
    expected_commission: Money = strawberry.field(description="The commission they are expected to pay the "
                                                              "leader (after refunds), rounded half-up per line.")
    pickup_point_id: strawberry.Private[UUID]

    @strawberry.field(description="The pickup point.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(await get_loader(info.context, PickupPointByIdLoader).load(self.pickup_point_id))


@strawberry.type(name="LeaderToday", description="\"Today at my point\": the orders placed on a day at a "
                                                 "leader's pickup points, their goods value and the commission "
                                                 "expected from them (not earned until picked up).")
class LeaderToday:
    date: date = strawberry.field(description="The day, in the tenant's time zone.")
    orders: int = strawberry.field(description="Orders over all the leader's points.")
    goods_value: Money = strawberry.field(description="Goods value over all the leader's points.")
    expected_commission: Money = strawberry.field(description="Expected commission over all the leader's points.")
    points: list[LeaderTodayPoint] = strawberry.field(description="Per point with orders that day.")


@strawberry.type(name="SharerOwed", description="What the brand owes one sharer (not a leader) on a date: their "
                                                "distribution commissions.")
class SharerOwed:
    sharer_id: strawberry.ID = strawberry.field(description="The sharer's User ID.")
    name: str = strawberry.field(description="The sharer's display name.")
    frozen: Money = strawberry.field(description="Frozen then.")
    available: Money = strawberry.field(description="Available then (may be negative).")
    in_withdrawal: Money = strawberry.field(description="In withdrawal then.")
    owed: Money = strawberry.field(description="frozen + available + inWithdrawal.")


_WITHDRAWAL = text("SELECT * FROM withdrawal WHERE tenant_id = :t AND id = :id")


async def _withdrawal_row(session: AsyncSession, tenant_id: UUID, id: UUID) -> Any:
    return (await session.execute(_WITHDRAWAL, {"t": tenant_id, "id": id})).one_or_none()


async def _may_see(context: Context, beneficiary_id: UUID) -> bool:
    return await is_admin(context) or context.principal.user_id == beneficiary_id


async def _visible_withdrawal(context: Context, id: UUID, *, sharers: bool) -> Any:
    async with serial_session(context) as session:
        row = await _withdrawal_row(session, context.tenant.id, id)
    if row is None or operations.is_sharers(row) != sharers or not await _may_see(context, row.beneficiary_id):
        return None
    return row


@node_loader("Withdrawal")
async def _load_withdrawal(context: Context, id: UUID) -> Withdrawal | None:
    row = await _visible_withdrawal(context, id, sharers=False)
    return Withdrawal.of(row) if row is not None else None


@node_loader("SharerWithdrawal")
async def _load_sharer_withdrawal(context: Context, id: UUID) -> SharerWithdrawal | None:
    row = await _visible_withdrawal(context, id, sharers=True)
    return SharerWithdrawal.of(row) if row is not None else None


@node_loader("LedgerEntry")
async def _load_entry(context: Context, id: UUID) -> LedgerEntry | None:
    async with serial_session(context) as session:
        row = (await session.execute(text("SELECT * FROM ledger_entry WHERE tenant_id = :t AND id = :id"),
                                     {"t": context.tenant.id, "id": id})).one_or_none()
    return LedgerEntry.of(row) if row is not None and await _may_see(context, row.beneficiary_id) else None


async def _subject(context: Context, leader_id: str | None) -> Any:
    """The leader whose money is asked for: a leader's own (leaderId left out or theirs), any for admins."""
    leader = await existing(context, LeaderByIdLoader, leader_id, "Leader", "leaderId")
    if await is_admin(context):
        if leader is None:
            raise argument_error("leaderId", "Admins name the leader (leaderId).")
        return leader
    own = await viewer_leader_id(context)
    if own is None:
        raise PermissionDenied("Leader money is for leaders (their own) and admins.")
    if leader is not None and leader.id != own:
        raise PermissionDenied("A leader sees only their own money.")
    return await get_loader(context, LeaderByIdLoader).load(own)


def _signed_in(context: Context) -> UUID:
    user_id = context.principal.user_id
    if user_id is None:
        raise PermissionDenied("Sign in first.")
    return user_id


def _month(context: Context, month: str | None, argument: str = "month") -> date | None:
    if month is None:
        return None
    try:
        year, mon = month.split("-")
        return date(int(year), int(mon), 1)
    except ValueError:
        raise argument_error(argument, "A month is YYYY-MM.") from None


async def _entry_page(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, month: date | None, tz: str,
                      first: int, after: str | None) -> Page[Any]:
    """Newest first."""
    check_first(first)
    where = ["tenant_id = :t", "beneficiary_id = :b"]
    params: dict[str, Any] = {"t": tenant_id, "b": beneficiary_id, "n": first + 1, "tz": tz}
    if month is not None:
        where.append("at >= (CAST(:m AS date)::timestamp AT TIME ZONE :tz) "
                     "AND at < ((CAST(:m AS date) + interval '1 month')::timestamp AT TIME ZONE :tz)")
        params["m"] = month
    listed = _counter("ledger_entry", list(where), dict(params))
    if after:
        at, id = decode_cursor(after)
        where.append("(at, id) < (:at, :id)")
        params.update(at=at, id=id)
    rows = (await session.execute(text(
        f"SELECT * FROM ledger_entry WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC LIMIT :n"), params)).all()
    items = list(rows[:first])
    return Page(items=items, cursors=[encode_cursor(r.at, r.id) for r in items], has_next=len(rows) > first,
                listed=listed)


def _counter(table: str, where: list[str], params: dict[str, Any]) -> Any:
    """totalCount of a hand-written page: the whole list (its filters, no cursor), counted when asked."""
    async def count(session: AsyncSession) -> int:
        return int((await session.execute(text(f"SELECT count(*) FROM {table} WHERE {' AND '.join(where)}"),
                                          params)).scalar_one())
    return count


async def _withdrawal_page(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID | None, status: str | None,
                           first: int, after: str | None, sharers: bool = False) -> Page[Any]:
    """Newest first: leaders' withdrawals, or (sharers) those of people who are not leaders."""
    check_first(first)
    where = ["w.tenant_id = :t", "w.leader_id IS NULL" if sharers else "w.leader_id IS NOT NULL"]
    params: dict[str, Any] = {"t": tenant_id, "n": first + 1}
    if beneficiary_id is not None:
        where.append("w.beneficiary_id = :b")
        params["b"] = beneficiary_id
    if status is not None:
        where.append("w.status = :s")
        params["s"] = status
    listed = _counter("withdrawal w", list(where), dict(params))
    if after:
        at, id = decode_cursor(after)
        where.append("(w.requested_at, w.id) < (:at, :id)")
        params.update(at=at, id=id)
    rows = (await session.execute(text(
        "SELECT w.*, u.display_name AS sharer_name FROM withdrawal w "
        "JOIN app_user u ON u.tenant_id = w.tenant_id AND u.id = w.beneficiary_id "
        f"WHERE {' AND '.join(where)} ORDER BY w.requested_at DESC, w.id DESC LIMIT :n"), params)).all()
    items = list(rows[:first])
    return Page(items=items, cursors=[encode_cursor(r.requested_at, r.id) for r in items],
                has_next=len(rows) > first, listed=listed)


_FIRST = Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                               "(GROUPBUY_MAX_PAGE_SIZE).")]
_AFTER = Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; leave it out "
                                                               "for the first page.")]
_STATUS = Annotated[WithdrawalStatus | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    description="Only withdrawals in this status.")]
_LEADER = Annotated[strawberry.ID | None, strawberry.argument(
    description="Admins: the leader (required). Leaders: leave it out (or give their own).")]


@strawberry.type
class LedgerQuery:
    @strawberry.field(description="A leader's balances, derived from their entries: a leader their own, admins any.")
    @requires(ADMINS, Caller.LEADER)
    async def leader_balance(self, info: Info, leader_id: _LEADER = None) -> LeaderBalance:
        context = info.context
        leader = await _subject(context, leader_id)
        async with serial_session(context) as session:
            b = await operations.balance(session, tenant_id=context.tenant.id, beneficiary_id=leader.user_id,
                                         leader_id=leader.id,
                                         currency=context.tenant.currency)
        return LeaderBalance.of(b)

    @strawberry.field(description="A leader's ledger entries, newest first: a leader their own, admins any.")
    @requires(ADMINS, Caller.LEADER)
    async def ledger_entries(
        self, info: Info, leader_id: _LEADER = None,
        month: Annotated[str | None, strawberry.argument(
            description="Only this month's entries, YYYY-MM in the tenant's time zone.")] = None,
        first: _FIRST = 20, after: _AFTER = None,
    ) -> Connection[LedgerEntry]:
        size = check_page(first, after)
        context = info.context
        leader = await _subject(context, leader_id)
        m = _month(context, month)
        async with serial_session(context) as session:
            page = await _entry_page(session, tenant_id=context.tenant.id, beneficiary_id=leader.user_id, month=m,
                                     tz=context.tenant.timezone, first=size, after=after)
        return Connection.of(page, LedgerEntry.of)

    @strawberry.field(description="\"Today at my point\": orders placed on a day (today unless given) at a "
                                  "leader's pickup points, their goods value and expected commission: a leader their "
                                  "own, admins any.")
    @requires(ADMINS, Caller.LEADER)
    async def leader_today(
        self, info: Info, leader_id: _LEADER = None,
        on: Annotated[date | None, strawberry.argument(
            description="The day in the tenant's time zone; today when left out.")] = None,
    ) -> LeaderToday:
        context = info.context
        leader = await _subject(context, leader_id)
        tz = context.tenant.timezone
        day = on or datetime.now(ZoneInfo(tz)).date()
        async with serial_session(context) as session:
            points = await today.leader_day(session, tenant_id=context.tenant.id, leader_id=leader.id, day=day, tz=tz)
        c = context.tenant.currency
        return LeaderToday(
            date=day, orders=sum(p.orders for p in points),
            goods_value=Money.of(sum(p.goods_minor for p in points), c),
            expected_commission=Money.of(sum(p.commission_minor for p in points), c),
            points=[LeaderTodayPoint(orders=p.orders, goods_value=Money.of(p.goods_minor, c),
                                     expected_commission=Money.of(p.commission_minor, c),
                                     pickup_point_id=p.pickup_point_id) for p in points])

    @strawberry.field(description="Sharers and leaders: their own balance, derived from their ledger entries "
                                  "(distribution commissions, and a leader's commissions too).")
    @requires(Caller.CUSTOMER, Caller.LEADER)
    async def my_balance(self, info: Info) -> UserBalance:
        context = info.context
        user_id = _signed_in(context)
        async with serial_session(context) as session:
            leader = await approved_leader_of_user(session, tenant_id=context.tenant.id, user_id=user_id)
            b = await operations.balance(session, tenant_id=context.tenant.id, beneficiary_id=user_id,
                                         leader_id=leader.id if leader is not None else None,
                                         currency=context.tenant.currency)
        return UserBalance.of(b)

    @strawberry.field(description="Sharers and leaders: their own ledger entries, newest first (a sharer's "
                                  "DISTRIBUTION_* entries, a leader's commission and withdrawal entries).")
    @requires(Caller.CUSTOMER, Caller.LEADER)
    async def my_ledger_entries(
        self, info: Info,
        month: Annotated[str | None, strawberry.argument(
            description="Only this month's entries, YYYY-MM in the tenant's time zone.")] = None,
        first: _FIRST = 20, after: _AFTER = None,
    ) -> Connection[LedgerEntry]:
        size = check_page(first, after)
        context = info.context
        user_id = _signed_in(context)
        m = _month(context, month)
        async with serial_session(context) as session:
            page = await _entry_page(session, tenant_id=context.tenant.id, beneficiary_id=user_id, month=m,
                                     tz=context.tenant.timezone, first=size, after=after)
        return Connection.of(page, LedgerEntry.of)

    @strawberry.field(description="Withdrawals, newest first: a leader their own, admins all (or one leader's).")
    @requires(ADMINS, Caller.LEADER)
    async def withdrawals(
        self, info: Info,
        status: _STATUS = None,
        leader_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Admins: only this leader's withdrawals.")] = None,
        first: _FIRST = 20, after: _AFTER = None,
    ) -> Connection[Withdrawal]:
        size = check_page(first, after)
        context = info.context
        leader = await existing(context, LeaderByIdLoader, leader_id, "Leader", "leaderId")
        if await is_admin(context):
            beneficiary = leader.user_id if leader is not None else None
        else:
            beneficiary = (await _subject(context, leader_id)).user_id
        async with serial_session(context) as session:
            page = await _withdrawal_page(session, tenant_id=context.tenant.id, beneficiary_id=beneficiary,
                                          status=status.value if status is not None else None,
                                          first=size, after=after)
        return Connection.of(page, Withdrawal.of)

    @strawberry.field(description="Sharers' withdrawals (SharerWithdrawal), newest first: a sharer their own, "
                                  "admins all (or one sharer's). Leaders' are in withdrawals.")
    @requires(ADMINS, Caller.CUSTOMER)
    async def sharer_withdrawals(
        self, info: Info,
        status: _STATUS = None,
        sharer_id: Annotated[strawberry.ID | None, strawberry.argument(
            description="Admins: only this sharer's (a User ID) withdrawals.")] = None,
        first: _FIRST = 20, after: _AFTER = None,
    ) -> Connection[SharerWithdrawal]:
        size = check_page(first, after)
        context = info.context
        admin = await is_admin(context)
        async with serial_session(context) as session:
            if admin:
                beneficiary = decode(sharer_id, "User") if sharer_id is not None else None
                if sharer_id is not None and (beneficiary is None or not (await session.execute(
                        text("SELECT 1 FROM app_user WHERE tenant_id = :t AND id = :u"),
                        {"t": context.tenant.id, "u": beneficiary})).first()):
                    raise argument_error("sharerId", "No such sharer.")
            else:
                beneficiary = _signed_in(context)
            page = await _withdrawal_page(session, tenant_id=context.tenant.id, beneficiary_id=beneficiary,
                                          status=status.value if status is not None else None,
                                          first=size, after=after, sharers=True)
        return Connection.of(page, SharerWithdrawal.of)

    @strawberry.field(description="A leader's monthly statement: a leader their own, admins any.")
    @requires(ADMINS, Caller.LEADER)
    async def leader_statement(
        self, info: Info,
        month: Annotated[str, strawberry.argument(description="The month, YYYY-MM, in the tenant's time zone.")],
        leader_id: _LEADER = None,
    ) -> LeaderStatement:
        context = info.context
        leader = await _subject(context, leader_id)
        m = _month(context, month)
        assert m is not None
        async with serial_session(context) as session:
            opening, closing = await statements.totals(session, tenant_id=context.tenant.id,
                                                       beneficiary_id=leader.user_id, month=m,
                                                       tz=context.tenant.timezone)
        c = context.tenant.currency
        base = str(context.request.base_url).rstrip("/")
        lid = global_id.encode("Leader", leader.id)
        # The lines are read when asked, and a page at a time when asked so.
        return LeaderStatement(
            month=m.strftime("%Y-%m"), opening=Money.of(opening, c), closing=Money.of(closing, c),
            csv_url=f"{base}/exports/leader-statement.csv?leaderId={lid}&month={m.strftime('%Y-%m')}",
            beneficiary_id=leader.user_id, first_day=m, opening_minor=opening)

    @strawberry.field(description="Leaders and sharers: the fee and payout of a withdrawal of this amount, to show "
                                  "before asking (withdrawalRequest and sharerWithdrawalRequest compute the same).")
    @requires(ADMINS, Caller.LEADER, Caller.CUSTOMER)
    async def withdrawal_quote(
        self, info: Info,
        amount: Annotated[Decimal, strawberry.argument(description="The amount, a decimal string.")],
    ) -> WithdrawalQuote:
        context = info.context
        async with serial_session(context) as session:
            rules = (await session.execute(text(
                "SELECT currency, withdrawal_minimum_minor, withdrawal_fee_rate, withdrawal_fee_fixed_minor, "
                "withdrawal_daily_limit FROM tenant WHERE id = :t"), {"t": context.tenant.id})).one()
        errors = Collector()
        minor = money_value(errors, amount, ["amount"], currency=rules.currency, positive=True)
        if minor is None:
            raise argument_error("amount", "A positive amount with the currency's decimals.")
        fee = operations.fee_of(minor, rules.withdrawal_fee_rate, rules.withdrawal_fee_fixed_minor)
        c = rules.currency
        return WithdrawalQuote(amount=Money.of(minor, c), fee=Money.of(fee, c), payout=Money.of(minor - fee, c),
                               minimum=Money.of(rules.withdrawal_minimum_minor, c),
                               daily_limit=rules.withdrawal_daily_limit)

    @strawberry.field(description="Admins: what the brand owed every approved or suspended leader with entries at "
                                  "the end of a day (in the tenant's time zone), for the brand's accounts.")
    @admins
    async def leaders_owed(
        self, info: Info,
        on: Annotated[date, strawberry.argument(description="The day; its end is the moment counted.")],
    ) -> list[LeaderOwed]:
        context = info.context
        c = context.tenant.currency
        async with serial_session(context) as session:
            rows = await statements.owed_on(session, tenant_id=context.tenant.id, on=on, tz=context.tenant.timezone)
        return [LeaderOwed(frozen=Money.of(r.frozen, c), available=Money.of(r.available, c),
                           in_withdrawal=Money.of(r.in_withdrawal, c),
                           owed=Money.of(r.frozen + r.available + r.in_withdrawal, c), leader_id=r.leader_id)
                for r in rows]

    @strawberry.field(description="Admins: what the brand owed every sharer who is not an approved or suspended "
                                  "leader (an applicant pending or turned down included: they withdraw as sharers) "
                                  "at the end of a day (in the tenant's time zone); leaders are in leadersOwed.")
    @admins
    async def sharers_owed(
        self, info: Info,
        on: Annotated[date, strawberry.argument(description="The day; its end is the moment counted.")],
    ) -> list[SharerOwed]:
        context = info.context
        c = context.tenant.currency
        async with serial_session(context) as session:
            rows = await statements.sharers_owed_on(session, tenant_id=context.tenant.id, on=on,
                                                    tz=context.tenant.timezone)
        return [SharerOwed(sharer_id=strawberry.ID(global_id.encode("User", r.user_id)), name=r.name,
                           frozen=Money.of(r.frozen, c), available=Money.of(r.available, c),
                           in_withdrawal=Money.of(r.in_withdrawal, c),
                           owed=Money.of(r.frozen + r.available + r.in_withdrawal, c))
                for r in rows]


@strawberry.input(name="WithdrawalRequestInput", description="A withdrawal request.")
class WithdrawalRequestInput:
    amount: Decimal = strawberry.field(description="How much, a decimal string in the tenant's currency: at most "
                                                   "the available balance, at least the tenant's minimum.")
    method: PayoutMethod = strawberry.field(description="How to pay it.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    account: str = strawberry.field(description="The bank account, Alipay or WeChat account (stored; shown masked).")
    account_name: str = strawberry.field(description="The account holder's name.")


@strawberry.type(description="The result of a withdrawal mutation.")
class WithdrawalPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    withdrawal: Withdrawal | None = strawberry.field(default=None, description="The withdrawal as it is now; null "
                                                                               "when refused.")


@strawberry.type(description="The result of a sharer's withdrawal mutation.")
class SharerWithdrawalPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    sharer_withdrawal: SharerWithdrawal | None = strawberry.field(
        default=None, description="The withdrawal as it is now; null when refused.")


@strawberry.type(description="The result of ledgerAdjust.")
class LedgerEntryPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    entry: LedgerEntry | None = strawberry.field(default=None, description="The entry written; null when refused.")


_ID = Annotated[strawberry.ID, strawberry.argument(description="The withdrawal's global ID.")]
_SHARER_ID = Annotated[strawberry.ID, strawberry.argument(description="The sharer's withdrawal's global ID "
                                                                      "(SharerWithdrawal).")]
# Who withdraws as a leader (withdrawalRequest): their money waits there while suspended.
_LEADS = text(f"SELECT 1 FROM leader WHERE tenant_id = :t AND user_id = :u AND status IN {statements.LEADS}")


async def _sharer_step(context: Context, step: Any, id: str, **kwargs: Any) -> SharerWithdrawalPayload:
    """One admin or back-end step of a sharer's withdrawal: the leaders' state machine."""
    async def action(session: AsyncSession) -> dict[str, Any]:
        row = await step(session, tenant_id=context.tenant.id, withdrawal_id=decode(id, "SharerWithdrawal"),
                         sharers=True, **kwargs)
        return {"sharer_withdrawal": SharerWithdrawal.of(row)}

    return await run_mutation(context, SharerWithdrawalPayload, action)


@strawberry.type
class LedgerMutation:
    @strawberry.mutation(description="A leader asks to be paid part of their available balance: at least the "
                                     "tenant's minimum, at most the available balance, one open request at a time "
                                     "and the tenant's daily count. The fee is taken when it is paid.")
    @requires(Caller.LEADER)
    async def withdrawal_request(
        self, info: Info,
        input: Annotated[WithdrawalRequestInput, strawberry.argument(description="The amount and payout account.")],
    ) -> WithdrawalPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            user_id = context.principal.user_id
            leader = await approved_leader_of_user(session, tenant_id=context.tenant.id,
                                                   user_id=user_id) if user_id else None
            if leader is None:
                raise PermissionDenied("Only an approved leader withdraws.")
            row = await operations.request_withdrawal(
                session, tenant_id=context.tenant.id, beneficiary_id=leader.user_id, leader_id=leader.id,
                amount=input.amount, method=input.method, account=input.account, account_name=input.account_name)
            return {"withdrawal": Withdrawal.of(row)}

        return await run_mutation(context, WithdrawalPayload, action)

    @strawberry.mutation(description="A sharer (a signed-in customer who is not a leader; leaders use "
                                     "withdrawalRequest) asks to be paid part of their available balance: the "
                                     "leaders' rules (the tenant's minimum, at most the available balance, one open "
                                     "request, the daily count; the fee is taken when it is paid).")
    @requires(Caller.CUSTOMER)
    async def sharer_withdrawal_request(
        self, info: Info,
        input: Annotated[WithdrawalRequestInput, strawberry.argument(description="The amount and payout account.")],
    ) -> SharerWithdrawalPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            user_id = _signed_in(context)
            if (await session.execute(_LEADS, {"t": context.tenant.id, "u": user_id})).first():
                # Declared for customers, which a leader is too: their state, not their role, refuses.
                raise fail(ErrorCode.CONFLICT, "A leader withdraws with withdrawalRequest.")
            row = await operations.request_withdrawal(
                session, tenant_id=context.tenant.id, beneficiary_id=user_id, leader_id=None,
                amount=input.amount, method=input.method, account=input.account, account_name=input.account_name)
            return {"sharer_withdrawal": SharerWithdrawal.of(row)}

        return await run_mutation(context, SharerWithdrawalPayload, action)

    @strawberry.mutation(description="Admins: a sharer's withdrawal REQUESTED -> APPROVED. Any other status is a "
                                     "CONFLICT.")
    @admins
    async def sharer_withdrawal_approve(self, info: Info, id: _SHARER_ID) -> SharerWithdrawalPayload:
        return await _sharer_step(info.context, operations.approve, id)

    @strawberry.mutation(description="Admins: a sharer's withdrawal REQUESTED -> REJECTED, with a reason; the "
                                     "amount is available again.")
    @admins
    async def sharer_withdrawal_reject(
        self, info: Info, id: _SHARER_ID,
        reason: Annotated[str, strawberry.argument(description="Why, for the sharer.")],
    ) -> SharerWithdrawalPayload:
        return await _sharer_step(info.context, operations.reject, id, reason=reason)

    @strawberry.mutation(description="The brand's back end (API key): a sharer's withdrawal APPROVED -> PAID with "
                                     "the payment's reference. Repeating it with the same reference returns the "
                                     "paid withdrawal unchanged.")
    @requires(Caller.API_KEY, Caller.PLATFORM)
    async def sharer_withdrawal_mark_paid(
        self, info: Info, id: _SHARER_ID,
        payout_reference: Annotated[str, strawberry.argument(description="The payment's reference.")],
    ) -> SharerWithdrawalPayload:
        return await _sharer_step(info.context, operations.mark_paid, id, payout_reference=payout_reference)

    @strawberry.mutation(description="The brand's back end (API key): a sharer's withdrawal APPROVED -> FAILED with "
                                     "a reason; the amount is available again.")
    @requires(Caller.API_KEY, Caller.PLATFORM)
    async def sharer_withdrawal_mark_failed(
        self, info: Info, id: _SHARER_ID,
        reason: Annotated[str, strawberry.argument(description="Why the payment failed.")],
    ) -> SharerWithdrawalPayload:
        return await _sharer_step(info.context, operations.mark_failed, id, reason=reason)

    @strawberry.mutation(description="Admins: REQUESTED -> APPROVED. Any other status is a CONFLICT.")
    @admins
    async def withdrawal_approve(self, info: Info, id: _ID) -> WithdrawalPayload:
        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.approve(
                session, tenant_id=info.context.tenant.id, withdrawal_id=decode(id, "Withdrawal"))
            return {"withdrawal": Withdrawal.of(row)}

        return await run_mutation(info.context, WithdrawalPayload, action)

    @strawberry.mutation(description="Admins: REQUESTED -> REJECTED, with a reason; the amount is available again.")
    @admins
    async def withdrawal_reject(
        self, info: Info, id: _ID,
        reason: Annotated[str, strawberry.argument(description="Why, for the leader.")],
    ) -> WithdrawalPayload:
        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.reject(
                session, tenant_id=info.context.tenant.id, withdrawal_id=decode(id, "Withdrawal"), reason=reason)
            return {"withdrawal": Withdrawal.of(row)}

        return await run_mutation(info.context, WithdrawalPayload, action)

    @strawberry.mutation(description="The brand's back end (API key): APPROVED -> PAID with the payment's reference. "
                                     "Repeating it with the same reference returns the paid withdrawal unchanged.")
    @requires(Caller.API_KEY, Caller.PLATFORM)
    async def withdrawal_mark_paid(
        self, info: Info, id: _ID,
        payout_reference: Annotated[str, strawberry.argument(description="The payment's reference.")],
    ) -> WithdrawalPayload:
        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.mark_paid(
                session, tenant_id=info.context.tenant.id, withdrawal_id=decode(id, "Withdrawal"),
                payout_reference=payout_reference)
            return {"withdrawal": Withdrawal.of(row)}

        return await run_mutation(info.context, WithdrawalPayload, action)

    @strawberry.mutation(description="The brand's back end (API key): APPROVED -> FAILED with a reason; the amount "
                                     "is available again.")
    @requires(Caller.API_KEY, Caller.PLATFORM)
    async def withdrawal_mark_failed(
        self, info: Info, id: _ID,
        reason: Annotated[str, strawberry.argument(description="Why the payment failed.")],
    ) -> WithdrawalPayload:
        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await operations.mark_failed(
                session, tenant_id=info.context.tenant.id, withdrawal_id=decode(id, "Withdrawal"), reason=reason)
            return {"withdrawal": Withdrawal.of(row)}

        return await run_mutation(info.context, WithdrawalPayload, action)

    @strawberry.mutation(description="Admins: a signed correction of a leader's available balance, with a reason.")
    @admins
    async def ledger_adjust(
        self, info: Info,
        leader_id: Annotated[strawberry.ID, strawberry.argument(description="The leader's global ID.")],
        amount: Annotated[Decimal, strawberry.argument(description="Signed decimal string: positive credits, "
                                                                   "negative debits.")],
        reason: Annotated[str, strawberry.argument(description="Why, kept on the entry.")],
    ) -> LedgerEntryPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            lid = decode(leader_id, "Leader")
            leader = (await session.execute(text("SELECT id, user_id FROM leader WHERE tenant_id = :t AND id = :id"),
                                            {"t": context.tenant.id, "id": lid})).one_or_none() if lid else None
            if leader is None:
                raise fail(ErrorCode.NOT_FOUND, "No such leader.", ["leaderId"])
            row = await operations.adjust(session, tenant_id=context.tenant.id, leader_id=leader.id,
                                          beneficiary_id=leader.user_id, amount=amount, reason=reason,
                                          actor_id=context.principal.user_id)
            return {"entry": LedgerEntry.of(row)}

        return await run_mutation(context, LedgerEntryPayload, action)
