"""The ledger and withdrawals.

Every change to a beneficiary's money is one row of ledger_entry, never updated or deleted
(the app role has no UPDATE/DELETE on it). Each entry carries its signed effect on the four
buckets (frozen, available, in withdrawal, withdrawn): a balance is the sum of a column, so it
cannot drift from the entries. The beneficiary is a user (a leader's user, or a distributor's);
leader_id is set when the beneficiary is a leader.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKeyConstraint, Identity, Index, String, text
from sqlmodel import Field, SQLModel

from service.columns import created_at, tenant_key, timestamp


class LedgerEntryKind(str, Enum):
    EARNED = "EARNED"
    RELEASED = "RELEASED"
    REVERSED = "REVERSED"
    CLAWBACK = "CLAWBACK"
    WITHDRAWAL = "WITHDRAWAL"
    WITHDRAWAL_RETURNED = "WITHDRAWAL_RETURNED"
    FEE = "FEE"
    ADJUSTMENT = "ADJUSTMENT"
    DISTRIBUTION_EARNED = "DISTRIBUTION_EARNED"
    WITHDRAWAL_PAID = "WITHDRAWAL_PAID"
    DISTRIBUTION_RELEASED = "DISTRIBUTION_RELEASED"
    DISTRIBUTION_REVERSED = "DISTRIBUTION_REVERSED"
    DISTRIBUTION_CLAWBACK = "DISTRIBUTION_CLAWBACK"


class WithdrawalStatus(str, Enum):
    REQUESTED = "REQUESTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    PAID = "PAID"
    FAILED = "FAILED"


class PayoutMethod(str, Enum):
    BANK = "BANK"
    ALIPAY = "ALIPAY"
    WECHAT = "WECHAT"


OPEN_STATUSES = ("REQUESTED", "APPROVED")


class LedgerEntry(SQLModel, table=True):
    __tablename__ = "ledger_entry"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"],
                             name="ledger_entry_beneficiary_fkey"),
        CheckConstraint("kind IN ('EARNED', 'RELEASED', 'REVERSED', 'CLAWBACK', 'WITHDRAWAL', "
                        "'WITHDRAWAL_RETURNED', 'FEE', 'ADJUSTMENT', 'DISTRIBUTION_EARNED', 'WITHDRAWAL_PAID', "
                        "'DISTRIBUTION_RELEASED', 'DISTRIBUTION_REVERSED', 'DISTRIBUTION_CLAWBACK')",
                        name="ledger_entry_kind_check"),
        # A commission (a leader's or a distribution one) is earned once and released once; each
        # step of a withdrawal is written once.
        Index("ledger_entry_once_per_commission", "tenant_id", "commission_id", "kind", unique=True,
              postgresql_where=text("commission_id IS NOT NULL AND kind IN ('EARNED', 'RELEASED', "
                                    "'DISTRIBUTION_EARNED', 'DISTRIBUTION_RELEASED')")),
        Index("ledger_entry_once_per_withdrawal", "tenant_id", "withdrawal_id", "kind", unique=True,
              postgresql_where=text("withdrawal_id IS NOT NULL")),
        Index("ledger_entry_beneficiary_idx", "tenant_id", "beneficiary_id", "seq"),
        Index("ledger_entry_leader_idx", "tenant_id", "leader_id", "seq"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True,
                     sa_column_kwargs={"server_default": text("gen_random_uuid()")})
    # The order entries were written in (a cursor and the statement's order).
    seq: int = Field(default=None, sa_column=Column(BigInteger, Identity(), nullable=False))
    beneficiary_id: UUID
    leader_id: UUID | None = None
    kind: LedgerEntryKind = Field(sa_column=Column(String(30), nullable=False))
    currency: str = Field(max_length=3)
    # What the entry shows (signed); below, its effect on each bucket.
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    frozen_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    available_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    in_withdrawal_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    withdrawn_minor: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    # commission_entry's id, or distribution_commission's for the DISTRIBUTION_* kinds.
    commission_id: UUID | None = None
    order_id: UUID | None = None
    withdrawal_id: UUID | None = None
    reason: str | None = Field(default=None, max_length=500)
    actor_id: UUID | None = None
    at: datetime = created_at()


class Withdrawal(SQLModel, table=True):
    __tablename__ = "withdrawal"
    __table_args__ = (
        ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"],
                             name="withdrawal_beneficiary_fkey"),
        CheckConstraint("status IN ('REQUESTED', 'APPROVED', 'REJECTED', 'PAID', 'FAILED')",
                        name="withdrawal_status_check"),
        CheckConstraint("method IN ('BANK', 'ALIPAY', 'WECHAT')", name="withdrawal_method_check"),
        CheckConstraint("amount_minor > 0 AND fee_minor >= 0 AND payout_minor > 0 "
                        "AND payout_minor = amount_minor - fee_minor", name="withdrawal_amounts_check"),
        # At most one open request per beneficiary, whatever races the check.
        Index("withdrawal_one_open", "tenant_id", "beneficiary_id", unique=True,
              postgresql_where=text("status IN ('REQUESTED', 'APPROVED')")),
        Index("withdrawal_payout_reference_key", "tenant_id", "payout_reference", unique=True,
              postgresql_where=text("payout_reference IS NOT NULL")),
        Index("withdrawal_beneficiary_idx", "tenant_id", "beneficiary_id", "requested_at", "id"),
        Index("withdrawal_page_idx", "tenant_id", "requested_at", "id"),
    )

    tenant_id: UUID = tenant_key()
    id: UUID = Field(default_factory=uuid4, primary_key=True)
    beneficiary_id: UUID
    leader_id: UUID | None = None
    status: WithdrawalStatus = Field(sa_column=Column(String(20), nullable=False))
    currency: str = Field(max_length=3)
    amount_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    fee_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    payout_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    method: PayoutMethod = Field(sa_column=Column(String(10), nullable=False))
    account: str = Field(max_length=64)
    account_name: str = Field(max_length=100)
    requested_at: datetime = created_at()
    decided_at: datetime | None = timestamp()
    paid_at: datetime | None = timestamp()
    failed_at: datetime | None = timestamp()
    payout_reference: str | None = Field(default=None, max_length=100)
    reason: str | None = Field(default=None, max_length=500)
