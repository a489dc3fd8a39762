"""Balances, withdrawals and adjustments.

A balance is the sum of the entries (view ledger_balance); nothing stores a running total.
Every withdrawal step locks what it changes first: a request takes a transaction-level advisory
lock on its beneficiary, so two requests of one leader run one after the other and the second
reads (in a new statement, under READ COMMITTED) the first one's entry; a decision locks the
withdrawal's row, so a transition is checked against its committed state. An illegal transition
is a CONFLICT that changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.ledger.models import OPEN_STATUSES, PayoutMethod
from service.money import exponent, from_minor, round_half_up, to_minor
from service.notify.outbox import emit
from service.validation import decimal_value, money_value, text_value

MAX_ADJUSTMENT = Decimal("1000000")


@dataclass(frozen=True)
class Balance:
    currency: str
    pending_minor: int = 0
    frozen_minor: int = 0
    available_minor: int = 0
    in_withdrawal_minor: int = 0
    withdrawn_minor: int = 0


_BALANCE = text("""
SELECT coalesce(sum(frozen_minor), 0)::bigint AS frozen, coalesce(sum(available_minor), 0)::bigint AS available,
       coalesce(sum(in_withdrawal_minor), 0)::bigint AS in_withdrawal,
       coalesce(sum(withdrawn_minor), 0)::bigint AS withdrawn
FROM ledger_entry WHERE tenant_id = :t AND beneficiary_id = :b
""")
# Pending: the commissions of the leader's confirmed orders not picked up yet (derived or written).
_PENDING = text("""
SELECT coalesce(sum(amount_minor), 0)::bigint FROM commission WHERE tenant_id = :t AND leader_id = :l
  AND status = 'PENDING'
""")
# And the beneficiary's distribution commissions of orders not picked up yet.
_DISTRIBUTION_PENDING = text("""
SELECT coalesce(sum(amount_minor), 0)::bigint FROM distribution_commission
WHERE tenant_id = :t AND beneficiary_id = :b AND status = 'PENDING'
""")


async def balance(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, leader_id: UUID | None,
                  currency: str) -> Balance:
    """One balance per person: a leader who also shares has both kinds of commission in it."""
    row = (await session.execute(_BALANCE, {"t": tenant_id, "b": beneficiary_id})).one()
    pending = int((await session.execute(_DISTRIBUTION_PENDING, {"t": tenant_id, "b": beneficiary_id})).scalar_one())
    if leader_id is not None:
        pending += int((await session.execute(_PENDING, {"t": tenant_id, "l": leader_id})).scalar_one())
    return Balance(currency=currency, pending_minor=pending, frozen_minor=row.frozen, available_minor=row.available,
                   in_withdrawal_minor=row.in_withdrawal, withdrawn_minor=row.withdrawn)


def fee_of(amount_minor: int, rate: Decimal, fixed_minor: int) -> int:
    """The fee on a withdrawal: the rate's share rounded half-up once, plus the fixed part."""
    return round_half_up(Decimal(amount_minor) * rate) + fixed_minor


def mask_account(account: str) -> str:
    """All but the last four characters hidden (the first one too when short)."""
    keep = 4 if len(account) > 6 else max(1, len(account) // 3)
    return "*" * max(4, len(account) - keep) + account[-keep:]


async def lock_beneficiary(session: AsyncSession, beneficiary_id: UUID) -> None:
    """Serialises everything that checks this beneficiary's balance before writing (until commit)."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('ledger:' || :b, 0))"),
                          {"b": str(beneficiary_id)})


_TENANT_RULES = text("""
SELECT currency, timezone, withdrawal_minimum_minor, withdrawal_fee_rate, withdrawal_fee_fixed_minor,
       withdrawal_daily_limit
FROM tenant WHERE id = :t
""")

_WITHDRAWAL_COLUMNS = ("id, tenant_id, beneficiary_id, leader_id, status, currency, amount_minor, fee_minor, "
                       "payout_minor, method, account, account_name, requested_at, decided_at, paid_at, failed_at, "
                       "payout_reference, reason")


async def _append(session: AsyncSession, **values: Any) -> Any:
    columns = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    return (await session.execute(
        text(f"INSERT INTO ledger_entry ({columns}) VALUES ({params}) "
             "RETURNING id, seq, tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, commission_id, "
             "order_id, withdrawal_id, reason, at"), values)).one()


def is_sharers(row: Any) -> bool:
    """A sharer's withdrawal (a SharerWithdrawal): asked for by someone who is not a leader."""
    return row.leader_id is None


def _event_payload(row: Any, **extra: Any) -> dict[str, Any]:
    """Money as a decimal string with its currency; ids sent as global IDs by the relay."""
    payload: dict[str, Any] = {
        "sharerWithdrawalId" if is_sharers(row) else "withdrawalId": str(row.id),
        "amount": {"amount": str(from_minor(row.amount_minor, row.currency)), "currency": row.currency},
        "fee": {"amount": str(from_minor(row.fee_minor, row.currency)), "currency": row.currency},
        "payout": {"amount": str(from_minor(row.payout_minor, row.currency)), "currency": row.currency},
        "status": row.status,
        "userIds": [str(row.beneficiary_id)],
    }
    if row.leader_id is not None:
        payload["leaderId"] = str(row.leader_id)
    else:
        payload["sharerId"] = str(row.beneficiary_id)
    payload.update(extra)
    return payload


async def _emit(session: AsyncSession, event: str, row: Any, **extra: Any) -> None:
    """A sharer's withdrawal has events of its own (SHARER_WITHDRAWAL_*): a receiver of the
    leaders' ones is never handed an ID that is no Withdrawal."""
    sharers = is_sharers(row)
    await emit(session, tenant_id=row.tenant_id, event=f"SHARER_{event}" if sharers else event,
               subject_type="sharer_withdrawal" if sharers else "withdrawal", subject_id=row.id,
               payload=_event_payload(row, **extra))


async def request_withdrawal(
    session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, leader_id: UUID | None,
    amount: Decimal | str | None, method: PayoutMethod | str, account: str | None, account_name: str | None,
) -> Any:
    rules = (await session.execute(_TENANT_RULES, {"t": tenant_id})).one()
    errors = Collector()
    amount_minor = money_value(errors, amount, ["input", "amount"], currency=rules.currency, positive=True)
    clean_account = text_value(errors, account, ["input", "account"], max_length=64)
    if clean_account is not None and len(clean_account) < 4:
        errors.add(ErrorCode.INVALID, msg("ledger.account_short"), ["input", "account"])
    clean_name = text_value(errors, account_name, ["input", "accountName"], max_length=100)
    errors.raise_if_any()
    assert amount_minor is not None and clean_account is not None and clean_name is not None
    if amount_minor < rules.withdrawal_minimum_minor:
        raise fail(ErrorCode.INVALID, msg("ledger.below_minimum", currency=rules.currency,
                                          minimum=str(from_minor(rules.withdrawal_minimum_minor, rules.currency))),
                   ["input", "amount"])
    fee = fee_of(amount_minor, rules.withdrawal_fee_rate, rules.withdrawal_fee_fixed_minor)
    if amount_minor - fee <= 0:
        raise fail(ErrorCode.INVALID, msg("ledger.fee_takes_all"), ["input", "amount"])

    await lock_beneficiary(session, beneficiary_id)
    counts = (await session.execute(text(f"""
SELECT count(*) FILTER (WHERE status IN {OPEN_STATUSES!r}) AS open,
       count(*) FILTER (WHERE requested_at >= (date_trunc('day', clock_timestamp() AT TIME ZONE :tz)
                                               AT TIME ZONE :tz)) AS today
FROM withdrawal WHERE tenant_id = :t AND beneficiary_id = :b"""),
        {"t": tenant_id, "b": beneficiary_id, "tz": rules.timezone})).one()
    if counts.open:
        raise fail(ErrorCode.CONFLICT, msg("ledger.withdrawal_open"))
    if counts.today >= rules.withdrawal_daily_limit:
        raise fail(ErrorCode.LIMIT_EXCEEDED, msg("ledger.daily_limit", limit=rules.withdrawal_daily_limit))
    available = int((await session.execute(
        text("SELECT coalesce(sum(available_minor), 0)::bigint FROM ledger_entry WHERE tenant_id = :t "
             "AND beneficiary_id = :b"), {"t": tenant_id, "b": beneficiary_id})).scalar_one())
    if amount_minor > available:
        raise fail(ErrorCode.INSUFFICIENT_BALANCE, msg("ledger.over_available", currency=rules.currency,
                                                       available=str(from_minor(available, rules.currency))),
                   ["input", "amount"])
    row = (await session.execute(text(f"""
INSERT INTO withdrawal (tenant_id, id, beneficiary_id, leader_id, status, currency, amount_minor, fee_minor,
                        payout_minor, method, account, account_name)
VALUES (:t, gen_random_uuid(), :b, :l, 'REQUESTED', :c, :a, :f, :p, :m, :acct, :name)
RETURNING {_WITHDRAWAL_COLUMNS}"""), {
        "t": tenant_id, "b": beneficiary_id, "l": leader_id, "c": rules.currency, "a": amount_minor, "f": fee,
        "p": amount_minor - fee, "m": PayoutMethod(method).value, "acct": clean_account, "name": clean_name,
    })).one()
    await _append(session, tenant_id=tenant_id, beneficiary_id=beneficiary_id, leader_id=leader_id,
                  kind="WITHDRAWAL", currency=rules.currency, amount_minor=-amount_minor,
                  available_minor=-amount_minor, in_withdrawal_minor=amount_minor, withdrawal_id=row.id)
    await _emit(session, "WITHDRAWAL_REQUESTED", row)
    return row


async def _locked(session: AsyncSession, tenant_id: UUID, withdrawal_id: UUID | None, sharers: bool) -> Any:
    """The withdrawal, locked; a leader's one is not found as a sharer's, nor the other way round."""
    row = (await session.execute(text(f"SELECT {_WITHDRAWAL_COLUMNS} FROM withdrawal "
                                      "WHERE tenant_id = :t AND id = :id FOR UPDATE"),
                                 {"t": tenant_id, "id": withdrawal_id})).one_or_none() if withdrawal_id else None
    if row is None or is_sharers(row) != sharers:
        raise fail(ErrorCode.NOT_FOUND, msg("ledger.no_withdrawal"), ["id"])
    return row


async def _move(session: AsyncSession, row: Any, to: str, sets: str, params: dict[str, Any]) -> Any:
    return (await session.execute(text(
        f"UPDATE withdrawal SET status = :to, {sets} WHERE tenant_id = :t AND id = :id "
        f"RETURNING {_WITHDRAWAL_COLUMNS}"),
        {"to": to, "t": row.tenant_id, "id": row.id, **params})).one()


def _illegal(row: Any, message: str) -> Exception:
    return fail(ErrorCode.CONFLICT, msg(message, status=row.status), ["id"])


async def _return_amount(session: AsyncSession, row: Any, reason: str | None) -> None:
    await _append(session, tenant_id=row.tenant_id, beneficiary_id=row.beneficiary_id, leader_id=row.leader_id,
                  kind="WITHDRAWAL_RETURNED", currency=row.currency, amount_minor=row.amount_minor,
                  available_minor=row.amount_minor, in_withdrawal_minor=-row.amount_minor, withdrawal_id=row.id,
                  reason=reason)


def _reason(reason: str | None) -> str:
    errors = Collector()
    clean = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    assert clean is not None
    return clean


async def approve(session: AsyncSession, *, tenant_id: UUID, withdrawal_id: UUID | None, sharers: bool = False) -> Any:
    row = await _locked(session, tenant_id, withdrawal_id, sharers)
    if row.status != "REQUESTED":
        raise _illegal(row, "ledger.cannot_approve")
    row = await _move(session, row, "APPROVED", "decided_at = statement_timestamp()", {})
    await _emit(session, "WITHDRAWAL_APPROVED", row)
    return row


async def reject(session: AsyncSession, *, tenant_id: UUID, withdrawal_id: UUID | None, reason: str | None,
                 sharers: bool = False) -> Any:
    clean = _reason(reason)
    row = await _locked(session, tenant_id, withdrawal_id, sharers)
    if row.status != "REQUESTED":
        raise _illegal(row, "ledger.cannot_reject")
    row = await _move(session, row, "REJECTED", "decided_at = statement_timestamp(), reason = :r", {"r": clean})
    await _return_amount(session, row, clean)
    await _emit(session, "WITHDRAWAL_REJECTED", row, reason=clean)
    return row


async def mark_paid(session: AsyncSession, *, tenant_id: UUID, withdrawal_id: UUID | None,
                    payout_reference: str | None, sharers: bool = False) -> Any:
    """APPROVED -> PAID. Repeating it with the same reference returns the paid withdrawal unchanged."""
    errors = Collector()
    reference = text_value(errors, payout_reference, ["payoutReference"], max_length=100)
    errors.raise_if_any()
    row = await _locked(session, tenant_id, withdrawal_id, sharers)
    if row.status == "PAID" and row.payout_reference == reference:
        return row
    if row.status != "APPROVED":
        raise _illegal(row, "ledger.cannot_pay")
    # Two withdrawals marked with one reference at once: the second waits here, then (a new
    # statement under READ COMMITTED) sees the first one's reference instead of tripping the
    # unique index.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended('payout:' || :r, 0))"),
                          {"r": reference})
    taken = (await session.execute(text("SELECT 1 FROM withdrawal WHERE tenant_id = :t AND payout_reference = :r "
                                        "AND id <> :id"), {"t": tenant_id, "r": reference, "id": row.id})).first()
    if taken:
        raise fail(ErrorCode.CONFLICT, msg("ledger.reference_taken"), ["payoutReference"])
    row = await _move(session, row, "PAID", "paid_at = statement_timestamp(), payout_reference = :r", {"r": reference})
    common = {"tenant_id": row.tenant_id, "beneficiary_id": row.beneficiary_id, "leader_id": row.leader_id,
              "currency": row.currency, "withdrawal_id": row.id}
    if row.fee_minor:
        await _append(session, kind="FEE", amount_minor=-row.fee_minor, in_withdrawal_minor=-row.fee_minor, **common)
    await _append(session, kind="WITHDRAWAL_PAID", amount_minor=-row.payout_minor,
                  in_withdrawal_minor=-row.payout_minor, withdrawn_minor=row.payout_minor, reason=reference, **common)
    await _emit(session, "WITHDRAWAL_PAID", row, payoutReference=reference)
    return row


async def mark_failed(session: AsyncSession, *, tenant_id: UUID, withdrawal_id: UUID | None, reason: str | None,
                      sharers: bool = False) -> Any:
    clean = _reason(reason)
    row = await _locked(session, tenant_id, withdrawal_id, sharers)
    if row.status != "APPROVED":
        raise _illegal(row, "ledger.cannot_fail")
    row = await _move(session, row, "FAILED", "failed_at = statement_timestamp(), reason = :r", {"r": clean})
    await _return_amount(session, row, clean)
    await _emit(session, "WITHDRAWAL_FAILED", row, reason=clean)
    return row


async def adjust(session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None, beneficiary_id: UUID,
                 amount: Decimal | str | None, reason: str | None, actor_id: UUID | None) -> Any:
    """An admin's signed correction of the available balance, with its reason."""
    currency = (await session.execute(text("SELECT currency FROM tenant WHERE id = :t"), {"t": tenant_id})).scalar_one()
    errors = Collector()
    value = decimal_value(errors, amount, ["amount"], minimum=-MAX_ADJUSTMENT, maximum=MAX_ADJUSTMENT,
                          places=exponent(currency))
    clean = text_value(errors, reason, ["reason"], max_length=500)
    if value is not None and value == 0:
        errors.add(ErrorCode.INVALID, msg("ledger.adjust_zero"), ["amount"])
    errors.raise_if_any()
    assert value is not None
    minor = to_minor(value, currency)
    await lock_beneficiary(session, beneficiary_id)
    return await _append(session, tenant_id=tenant_id, beneficiary_id=beneficiary_id, leader_id=leader_id,
                         kind="ADJUSTMENT", currency=currency, amount_minor=minor, available_minor=minor,
                         reason=clean, actor_id=actor_id)
