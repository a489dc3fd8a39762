"""leader money: the ledger, withdrawals, the freeze's release

- ledger_entry: append-only (the app role may INSERT and SELECT only), one row per change to a
  beneficiary's money, with its signed effect on the frozen / available / in-withdrawal /
  withdrawn buckets; ledger_balance sums them.
- commission_entry.released_at, and two statement triggers that append EARNED, REVERSED,
  CLAWBACK and RELEASED entries from commission changes (set-based, transition tables).
- release_frozen_commissions(): the scheduler's release, SECURITY DEFINER over every tenant.
- withdrawal: requests and their states; one open request per beneficiary.
- tenant.withdrawal_fee_fixed_minor, tenant.withdrawal_daily_limit.
- Commissions earned before this revision get their EARNED entry.

Revision ID: 0019
Revises: 0023
"""

import sqlalchemy as sa
from alembic import op

from service.config import get_settings
from service.tenants.rls import enable_tenant_rls

revision = "0019"
down_revision = "0023"
branch_labels = None
depends_on = None

LEDGER_COMMISSION_EARNED = """
CREATE OR REPLACE FUNCTION ledger_commission_earned()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                            commission_id, order_id)
  SELECT n.tenant_id, l.user_id, n.leader_id, 'EARNED', n.currency, n.amount_minor, n.amount_minor, n.id, n.order_id
  FROM new_rows n
  JOIN leader l ON l.tenant_id = n.tenant_id AND l.id = n.leader_id
  WHERE n.earned_at IS NOT NULL AND n.amount_minor > 0;
  RETURN NULL;
END
$$
"""

LEDGER_COMMISSION_CHANGED = """
CREATE OR REPLACE FUNCTION ledger_commission_changed()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  WITH appended AS (
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    SELECT n.tenant_id, l.user_id, n.leader_id, e.kind, n.currency, e.amount, e.frozen, e.available, n.id, n.order_id
    FROM new_rows n
    JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
    JOIN leader l ON l.tenant_id = n.tenant_id AND l.id = n.leader_id
    CROSS JOIN LATERAL (VALUES
      ('EARNED', n.amount_minor, n.amount_minor, 0::bigint,
       o.earned_at IS NULL AND n.earned_at IS NOT NULL AND n.amount_minor > 0),
      ('REVERSED', o.reversed_minor - n.reversed_minor, o.reversed_minor - n.reversed_minor, 0::bigint,
       o.earned_at IS NOT NULL AND o.released_at IS NULL AND n.reversed_minor > o.reversed_minor),
      ('CLAWBACK', o.reversed_minor - n.reversed_minor, 0::bigint, o.reversed_minor - n.reversed_minor,
       o.released_at IS NOT NULL AND n.reversed_minor > o.reversed_minor),
      ('RELEASED', n.amount_minor, -n.amount_minor, n.amount_minor,
       o.released_at IS NULL AND n.released_at IS NOT NULL AND n.amount_minor > 0)
    ) AS e(kind, amount, frozen, available, happened)
    WHERE e.happened
    RETURNING tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, order_id
  )
  INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
  SELECT a.tenant_id, gen_random_uuid(), 'COMMISSION_CLAWED_BACK', 'leader', a.leader_id,
         jsonb_build_object(
           'leaderId', a.leader_id, 'orderId', a.order_id, 'userIds', jsonb_build_array(a.beneficiary_id),
           'amount', jsonb_build_object('amount', round(-a.amount_minor::numeric / 10::numeric ^ x.e, x.e)::text,
                                        'currency', a.currency))
  FROM appended a
  CROSS JOIN LATERAL (SELECT CASE WHEN a.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                                  WHEN a.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END AS e) x
  WHERE a.kind = 'CLAWBACK';
  RETURN NULL;
END
$$
"""

RELEASE_FROZEN_COMMISSIONS = """
CREATE OR REPLACE FUNCTION release_frozen_commissions(p_limit int)
RETURNS TABLE (tenant_id uuid, leader_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM commission_entry c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE commission_entry c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.leader_id, c.amount_minor, c.currency
  ), per_leader AS (
    SELECT r.tenant_id, r.leader_id, count(*) AS commissions, sum(r.amount_minor)::bigint AS amount_minor,
           min(r.currency) AS currency
    FROM released r GROUP BY r.tenant_id, r.leader_id
  ), events AS (
    INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
    SELECT p.tenant_id, gen_random_uuid(), 'COMMISSION_AVAILABLE', 'leader', p.leader_id,
           jsonb_build_object(
             'leaderId', p.leader_id, 'commissions', p.commissions, 'userIds', jsonb_build_array(l.user_id),
             'amount', jsonb_build_object(
               'amount', round(p.amount_minor::numeric / 10::numeric ^ x.e, x.e)::text, 'currency', p.currency))
    FROM per_leader p
    JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
    CROSS JOIN LATERAL (SELECT CASE WHEN p.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                                    WHEN p.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END AS e) x
    WHERE p.amount_minor > 0
  )
  SELECT p.tenant_id, p.leader_id, p.commissions, p.amount_minor FROM per_leader p
$$
"""

LEDGER_BALANCE_VIEW = """
CREATE VIEW ledger_balance WITH (security_invoker = true) AS
SELECT tenant_id, beneficiary_id, min(leader_id::text)::uuid AS leader_id, min(currency) AS currency,
       sum(frozen_minor)::bigint AS frozen_minor, sum(available_minor)::bigint AS available_minor,
       sum(in_withdrawal_minor)::bigint AS in_withdrawal_minor, sum(withdrawn_minor)::bigint AS withdrawn_minor
FROM ledger_entry
GROUP BY tenant_id, beneficiary_id
"""

BACKFILL = """
INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                          commission_id, order_id, at)
SELECT c.tenant_id, l.user_id, c.leader_id, 'EARNED', c.currency, c.amount_minor, c.amount_minor, c.id,
       c.order_id, c.earned_at
FROM commission_entry c JOIN leader l ON l.tenant_id = c.tenant_id AND l.id = c.leader_id
WHERE c.earned_at IS NOT NULL AND c.amount_minor > 0
"""


def upgrade() -> None:
    op.add_column("tenant", sa.Column("withdrawal_fee_fixed_minor", sa.BigInteger(), nullable=False,
                                      server_default="0"))
    op.add_column("tenant", sa.Column("withdrawal_daily_limit", sa.Integer(), nullable=False, server_default="1"))
    op.create_check_constraint("tenant_withdrawal_fee_fixed_minor_check", "tenant",
                               "withdrawal_fee_fixed_minor >= 0")
    op.create_check_constraint("tenant_withdrawal_daily_limit_check", "tenant",
                               "withdrawal_daily_limit BETWEEN 1 AND 100")
    op.add_column("commission_entry", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    # What the release scans: earned, not yet released.
    op.create_index("commission_entry_frozen_idx", "commission_entry", ["earned_at"],
                    postgresql_where=sa.text("released_at IS NULL AND earned_at IS NOT NULL"))

    op.create_table(
        "ledger_entry",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("leader_id", sa.Uuid(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("frozen_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("available_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("in_withdrawal_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("withdrawn_minor", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("commission_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        sa.Column("withdrawal_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"],
                                name="ledger_entry_beneficiary_fkey"),
        sa.CheckConstraint("kind IN ('EARNED', 'RELEASED', 'REVERSED', 'CLAWBACK', 'WITHDRAWAL', "
                           "'WITHDRAWAL_RETURNED', 'FEE', 'ADJUSTMENT', 'DISTRIBUTION_EARNED', 'WITHDRAWAL_PAID')",
                           name="ledger_entry_kind_check"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("ledger_entry_once_per_commission", "ledger_entry", ["tenant_id", "commission_id", "kind"],
                    unique=True,
                    postgresql_where=sa.text("commission_id IS NOT NULL AND kind IN ('EARNED', 'RELEASED')"))
    op.create_index("ledger_entry_once_per_withdrawal", "ledger_entry", ["tenant_id", "withdrawal_id", "kind"],
                    unique=True, postgresql_where=sa.text("withdrawal_id IS NOT NULL"))
    op.create_index("ledger_entry_beneficiary_idx", "ledger_entry", ["tenant_id", "beneficiary_id", "seq"])
    op.create_index("ledger_entry_leader_idx", "ledger_entry", ["tenant_id", "leader_id", "seq"])

    op.create_table(
        "withdrawal",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("leader_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("fee_minor", sa.BigInteger(), nullable=False),
        sa.Column("payout_minor", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("account", sa.String(length=64), nullable=False),
        sa.Column("account_name", sa.String(length=100), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"),
                  nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("payout_reference", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"],
                                name="withdrawal_beneficiary_fkey"),
        sa.CheckConstraint("status IN ('REQUESTED', 'APPROVED', 'REJECTED', 'PAID', 'FAILED')",
                           name="withdrawal_status_check"),
        sa.CheckConstraint("method IN ('BANK', 'ALIPAY', 'WECHAT')", name="withdrawal_method_check"),
        sa.CheckConstraint("amount_minor > 0 AND fee_minor >= 0 AND payout_minor > 0 "
                           "AND payout_minor = amount_minor - fee_minor", name="withdrawal_amounts_check"),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("withdrawal_one_open", "withdrawal", ["tenant_id", "beneficiary_id"], unique=True,
                    postgresql_where=sa.text("status IN ('REQUESTED', 'APPROVED')"))
    op.create_index("withdrawal_payout_reference_key", "withdrawal", ["tenant_id", "payout_reference"], unique=True,
                    postgresql_where=sa.text("payout_reference IS NOT NULL"))
    op.create_index("withdrawal_beneficiary_idx", "withdrawal", ["tenant_id", "beneficiary_id", "requested_at", "id"])
    op.create_index("withdrawal_page_idx", "withdrawal", ["tenant_id", "requested_at", "id"])
    enable_tenant_rls(op.execute, "ledger_entry", "withdrawal")
    op.execute(LEDGER_BALANCE_VIEW)

    op.execute(LEDGER_COMMISSION_EARNED)
    op.execute(LEDGER_COMMISSION_CHANGED)
    op.execute(RELEASE_FROZEN_COMMISSIONS)
    op.execute(BACKFILL)
    op.execute("CREATE TRIGGER commission_entry_ledger_insert AFTER INSERT ON commission_entry "
               "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION ledger_commission_earned()")
    op.execute("CREATE TRIGGER commission_entry_ledger_update AFTER UPDATE ON commission_entry "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_commission_changed()")
    role = get_settings().app_db_role
    op.execute(f"""DO $$ BEGIN
                     IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                       GRANT SELECT, INSERT, UPDATE ON TABLE withdrawal TO {role};
                       GRANT SELECT ON TABLE ledger_balance TO {role};
                       REVOKE UPDATE, DELETE, TRUNCATE ON TABLE ledger_entry FROM {role};
                       GRANT SELECT, INSERT ON TABLE ledger_entry TO {role};
                       GRANT EXECUTE ON FUNCTION release_frozen_commissions(int) TO {role};
                     END IF;
                   END $$""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS commission_entry_ledger_update ON commission_entry")
    op.execute("DROP TRIGGER IF EXISTS commission_entry_ledger_insert ON commission_entry")
    op.execute("DROP FUNCTION IF EXISTS release_frozen_commissions(int)")
    op.execute("DROP FUNCTION IF EXISTS ledger_commission_changed()")
    op.execute("DROP FUNCTION IF EXISTS ledger_commission_earned()")
    op.execute("DROP VIEW IF EXISTS ledger_balance")
    op.drop_table("withdrawal")
    op.drop_table("ledger_entry")
    op.drop_index("commission_entry_frozen_idx", table_name="commission_entry")
    op.drop_column("commission_entry", "released_at")
    op.drop_constraint("tenant_withdrawal_daily_limit_check", "tenant")
    op.drop_constraint("tenant_withdrawal_fee_fixed_minor_check", "tenant")
    op.drop_column("tenant", "withdrawal_daily_limit")
    op.drop_column("tenant", "withdrawal_fee_fixed_minor")
