"""indexes for the console's sales report (service/reports/sql/sales_report.sql)

- refund_created_idx (tenant_id, created_at): the refunds of a period, without reading all of
  a tenant's refunds.

Revision ID: 0018
Revises: 0014
"""

from alembic import op

revision = "0018"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("refund_created_idx", "refund", ["tenant_id", "created_at"])


def downgrade() -> None:
    op.drop_index("refund_created_idx", table_name="refund")
