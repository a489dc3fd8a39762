"""distribution commissions in the ledger: a sharer's money frozen, released, reversed, clawed back

- distribution_commission.released_at: the freeze's end, as commission_entry.released_at.
- ledger_entry kinds DISTRIBUTION_RELEASED / _REVERSED / _CLAWBACK beside DISTRIBUTION_EARNED;
  the beneficiary is the sharer's user (leader_id null), commission_id the distribution
  commission; each is earned and released once (ledger_entry_once_per_commission).
- A statement trigger on distribution_commission appends the entries (ledger_distribution_changed).
- release_frozen_distribution(): the scheduler's release, SECURITY DEFINER over every tenant.
- Distribution commissions earned before this revision get their DISTRIBUTION_EARNED entry.

Revision ID: 0028
Revises: 0019
"""

import sqlalchemy as sa
from alembic import op

from service.config import get_settings

revision = "0028"
down_revision = "0019"
branch_labels = None
depends_on = None

OLD_KINDS = ("kind IN ('EARNED', 'RELEASED', 'REVERSED', 'CLAWBACK', 'WITHDRAWAL', "
             "'WITHDRAWAL_RETURNED', 'FEE', 'ADJUSTMENT', 'DISTRIBUTION_EARNED', 'WITHDRAWAL_PAID')")
NEW_KINDS = ("kind IN ('EARNED', 'RELEASED', 'REVERSED', 'CLAWBACK', 'WITHDRAWAL', "
             "'WITHDRAWAL_RETURNED', 'FEE', 'ADJUSTMENT', 'DISTRIBUTION_EARNED', 'WITHDRAWAL_PAID', "
             "'DISTRIBUTION_RELEASED', 'DISTRIBUTION_REVERSED', 'DISTRIBUTION_CLAWBACK')")
OLD_ONCE = "commission_id IS NOT NULL AND kind IN ('EARNED', 'RELEASED')"
NEW_ONCE = ("commission_id IS NOT NULL AND kind IN ('EARNED', 'RELEASED', 'DISTRIBUTION_EARNED', "
            "'DISTRIBUTION_RELEASED')")

LEDGER_DISTRIBUTION_CHANGED = """
CREATE OR REPLACE FUNCTION ledger_distribution_changed()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                            available_minor, commission_id, order_id)
  SELECT n.tenant_id, n.beneficiary_id, NULL, e.kind, n.currency, e.amount, e.frozen, e.available, n.id, n.order_id
  FROM new_rows n
  JOIN old_rows o ON o.tenant_id = n.tenant_id AND o.id = n.id
  CROSS JOIN LATERAL (VALUES
    ('DISTRIBUTION_EARNED', n.amount_minor, n.amount_minor, 0::bigint,
     o.earned_at IS NULL AND n.earned_at IS NOT NULL AND n.amount_minor > 0),
    ('DISTRIBUTION_REVERSED', o.reversed_minor - n.reversed_minor, o.reversed_minor - n.reversed_minor, 0::bigint,
     o.earned_at IS NOT NULL AND o.released_at IS NULL AND n.reversed_minor > o.reversed_minor),
    ('DISTRIBUTION_CLAWBACK', o.reversed_minor - n.reversed_minor, 0::bigint, o.reversed_minor - n.reversed_minor,
     o.released_at IS NOT NULL AND n.reversed_minor > o.reversed_minor),
    ('DISTRIBUTION_RELEASED', n.amount_minor, -n.amount_minor, n.amount_minor,
     o.released_at IS NULL AND n.released_at IS NOT NULL AND n.amount_minor > 0)
  ) AS e(kind, amount, frozen, available, happened)
  WHERE e.happened;
  RETURN NULL;
END
$$
"""

RELEASE_FROZEN_DISTRIBUTION = """
CREATE OR REPLACE FUNCTION release_frozen_distribution(p_limit int)
RETURNS TABLE (tenant_id uuid, beneficiary_id uuid, commissions bigint, amount_minor bigint)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.id
    FROM distribution_commission c
    JOIN tenant t ON t.id = c.tenant_id
    WHERE c.released_at IS NULL AND c.earned_at IS NOT NULL
      AND c.earned_at <= clock_timestamp() - make_interval(days => t.commission_freeze_days)
    LIMIT p_limit
    FOR UPDATE OF c SKIP LOCKED
  ), released AS (
    UPDATE distribution_commission c SET released_at = clock_timestamp()
    FROM due
    WHERE c.tenant_id = due.tenant_id AND c.id = due.id AND c.released_at IS NULL
    RETURNING c.tenant_id, c.beneficiary_id, c.amount_minor
  )
  SELECT r.tenant_id, r.beneficiary_id, count(*), sum(r.amount_minor)::bigint
  FROM released r GROUP BY r.tenant_id, r.beneficiary_id
$$
"""

BACKFILL = """
INSERT INTO ledger_entry (tenant_id, beneficiary_id, kind, currency, amount_minor, frozen_minor, commission_id,
                          order_id, at)
SELECT c.tenant_id, c.beneficiary_id, 'DISTRIBUTION_EARNED', c.currency, c.amount_minor, c.amount_minor, c.id,
       c.order_id, c.earned_at
FROM distribution_commission c
WHERE c.earned_at IS NOT NULL AND c.amount_minor > 0
"""


def _once(where: str) -> None:
    op.drop_index("ledger_entry_once_per_commission", table_name="ledger_entry")
    op.create_index("ledger_entry_once_per_commission", "ledger_entry", ["tenant_id", "commission_id", "kind"],
                    unique=True, postgresql_where=sa.text(where))


def upgrade() -> None:
    op.add_column("distribution_commission", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    # What the release scans: earned, not yet released.
    op.create_index("distribution_commission_frozen_idx", "distribution_commission", ["earned_at"],
                    postgresql_where=sa.text("released_at IS NULL AND earned_at IS NOT NULL"))
    op.drop_constraint("ledger_entry_kind_check", "ledger_entry")
    op.create_check_constraint("ledger_entry_kind_check", "ledger_entry", NEW_KINDS)
    _once(NEW_ONCE)
    op.execute(LEDGER_DISTRIBUTION_CHANGED)
    op.execute(RELEASE_FROZEN_DISTRIBUTION)
    op.execute(BACKFILL)
    op.execute("CREATE TRIGGER distribution_commission_ledger_update AFTER UPDATE ON distribution_commission "
               "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows "
               "FOR EACH STATEMENT EXECUTE FUNCTION ledger_distribution_changed()")
    role = get_settings().app_db_role
    op.execute(f"""DO $$ BEGIN
                     IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                       GRANT EXECUTE ON FUNCTION release_frozen_distribution(int) TO {role};
                     END IF;
                   END $$""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS distribution_commission_ledger_update ON distribution_commission")
    op.execute("DROP FUNCTION IF EXISTS release_frozen_distribution(int)")
    op.execute("DROP FUNCTION IF EXISTS ledger_distribution_changed()")
    op.execute("DELETE FROM ledger_entry WHERE kind LIKE 'DISTRIBUTION%'")
    _once(OLD_ONCE)
    op.drop_constraint("ledger_entry_kind_check", "ledger_entry")
    op.create_check_constraint("ledger_entry_kind_check", "ledger_entry", OLD_KINDS)
    op.drop_index("distribution_commission_frozen_idx", table_name="distribution_commission")
    op.drop_column("distribution_commission", "released_at")
