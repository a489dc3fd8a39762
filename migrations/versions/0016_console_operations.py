"""the brand's console: tenant settings, password change and reset, archiving, key usage

- tenant: the settings of the features a brand tunes (pickup window, commission freeze,
  after-sales window, shortage policy, withdrawals, front-end URL template, distribution and
  referral attribution), each with a default and a sanity check.
- app_user.token_version: in every user token (claim `tv`); a password change or reset raises
  it, so the tokens issued before stop working on their next request. account_state() returns
  it, so the per-request account check compares it at no extra cost.
- password_reset: one-time codes an admin issues for a user, stored hashed, with an expiry and
  the time they were used (a code works once).
- supplier.archived_at, product.archived_at: archived rows get no new offers or products and
  leave the storefront's lists; orders and purchase orders keep referring to them.

Revision ID: 0016
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0016"
down_revision = "0018"
branch_labels = None
depends_on = None

ACCOUNT_STATE = """
CREATE FUNCTION account_state(p_tenant uuid, p_user uuid)
RETURNS TABLE (kind text, supplier_id uuid, leader_status text, token_version int)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT u.kind::text, u.supplier_id, l.status::text, u.token_version
      FROM app_user u
      LEFT JOIN leader l ON l.tenant_id = u.tenant_id AND l.user_id = u.id
     WHERE u.tenant_id = p_tenant AND u.id = p_user AND u.disabled_at IS NULL;
END $$
"""

OLD_ACCOUNT_STATE = """
CREATE FUNCTION account_state(p_tenant uuid, p_user uuid)
RETURNS TABLE (kind text, supplier_id uuid, leader_status text)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  RETURN QUERY
    SELECT u.kind::text, u.supplier_id, l.status::text
      FROM app_user u
      LEFT JOIN leader l ON l.tenant_id = u.tenant_id AND l.user_id = u.id
     WHERE u.tenant_id = p_tenant AND u.id = p_user AND u.disabled_at IS NULL;
END $$
"""

# (column, type, server default, check)
TENANT_SETTINGS = [
    ("pickup_window_days", sa.Integer(), "3", "pickup_window_days BETWEEN 1 AND 60"),
    ("commission_freeze_days", sa.Integer(), "7", "commission_freeze_days BETWEEN 0 AND 90"),
    ("after_sales_window_hours", sa.Integer(), "48", "after_sales_window_hours BETWEEN 0 AND 720"),
    ("shortage_policy", sa.String(30), "'LAST_ORDERED_FIRST'",
     "shortage_policy IN ('LAST_ORDERED_FIRST', 'PRO_RATA')"),
    ("withdrawal_minimum_minor", sa.BigInteger(), "0", "withdrawal_minimum_minor >= 0"),
    ("withdrawal_fee_rate", sa.Numeric(5, 4), "0", "withdrawal_fee_rate BETWEEN 0 AND 0.2"),
    ("front_end_url_template", sa.String(500), None, None),
    ("distribution_enabled", sa.Boolean(), "false", None),
    ("distribution_level1_rate", sa.Numeric(5, 4), "0", None),
    ("distribution_level2_rate", sa.Numeric(5, 4), "0",
     "distribution_level1_rate >= 0 AND distribution_level2_rate >= 0"
     " AND distribution_level1_rate + distribution_level2_rate <= 0.3"),
    ("referral_binding", sa.String(20), "'FIRST'", "referral_binding IN ('FIRST', 'LATEST')"),
    ("attribution_window_days", sa.Integer(), "30", "attribution_window_days BETWEEN 1 AND 365"),
]


def upgrade() -> None:
    for name, type_, default, check in TENANT_SETTINGS:
        op.add_column("tenant", sa.Column(
            name, type_, nullable=default is None,
            server_default=sa.text(default) if default is not None else None,
        ))
        if check:
            op.create_check_constraint(f"tenant_{name}_check", "tenant", check)
    op.add_column("app_user", sa.Column("token_version", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("supplier", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("product", sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "password_reset",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("issued_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "user_id"], ["app_user.tenant_id", "app_user.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("password_reset_user_idx", "password_reset", ["tenant_id", "user_id", "created_at"])
    enable_tenant_rls(op.execute, "password_reset")
    op.execute("DROP FUNCTION IF EXISTS account_state(uuid, uuid)")
    op.execute(ACCOUNT_STATE)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS account_state(uuid, uuid)")
    op.execute(OLD_ACCOUNT_STATE)
    op.drop_table("password_reset")
    op.drop_column("product", "archived_at")
    op.drop_column("supplier", "archived_at")
    op.drop_column("app_user", "token_version")
    for name, _, _, check in reversed(TENANT_SETTINGS):
        if check:
            op.drop_constraint(f"tenant_{name}_check", "tenant", type_="check")
        op.drop_column("tenant", name)
