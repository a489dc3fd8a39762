"""Compensation by coupon for shortages, damaged goods and after-sales requests

- tenant.compensation_mode: NONE, COUPON_AND_REFUND (the refund, and a coupon on top) or
  COUPON_INSTEAD_OF_REFUND (a coupon, and no money back for the units it stands for);
  tenant.compensation_template_id: the coupon template compensation coupons come from.
- compensation: one row per compensated order line and occasion (a short shipment, a delivery
  confirmed short or damaged, an approved after-sales request), unique per (occasion, line): what
  was granted, the paid value kept against the coupon, or why no coupon could be granted.

Revision ID: 0029
Revises: 0028
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

MODES = "('NONE', 'COUPON_AND_REFUND', 'COUPON_INSTEAD_OF_REFUND')"


def upgrade() -> None:
    op.add_column("tenant", sa.Column("compensation_mode", sa.String(length=30), nullable=False,
                                      server_default="NONE"))
    op.add_column("tenant", sa.Column("compensation_template_id", sa.Uuid(), nullable=True))
    op.create_check_constraint("tenant_compensation_mode_check", "tenant", f"compensation_mode IN {MODES}")
    op.create_table(
        "compensation",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("occasion", sa.String(length=200), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("after_sales_request_id", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=30), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("coupon_id", sa.Uuid(), nullable=True),
        sa.Column("kept_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("error_code", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "occasion", "order_line_id", name="compensation_once"),
        sa.ForeignKeyConstraint(["tenant_id", "order_line_id"], ["order_line.tenant_id", "order_line.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "coupon_id"], ["coupon.tenant_id", "coupon.id"]),
        sa.CheckConstraint(f"mode IN {MODES} AND mode <> 'NONE'", name="compensation_mode_check"),
        sa.CheckConstraint("quantity > 0 AND kept_minor >= 0 AND (coupon_id IS NULL) = (error_code IS NOT NULL) "
                           "AND (kept_minor = 0 OR coupon_id IS NOT NULL)", name="compensation_outcome_check"),
    )
    op.create_index("compensation_order_idx", "compensation", ["tenant_id", "order_id"])
    op.create_index("compensation_request_idx", "compensation", ["tenant_id", "after_sales_request_id"])
    enable_tenant_rls(op.execute, "compensation")


def downgrade() -> None:
    op.drop_table("compensation")
    op.drop_constraint("tenant_compensation_mode_check", "tenant", type_="check")
    op.drop_column("tenant", "compensation_template_id")
    op.drop_column("tenant", "compensation_mode")
