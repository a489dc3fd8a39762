"""The leader's client at the pickup point: notifications rendered in the reader's language,
orders found by the phone's last four digits, and 催取货 reminders rate-limited per point

- notification.params: the template's parameters (its event is the template id), so a
  notification is rendered in the reader's language when read. Rows written before keep params
  NULL and are shown with their stored title and body.
- app_user_phone_tail_idx: customers by the last four digits of their phone.
- pickup_point.reminded_at: when its leader last sent the pickup reminders (one per interval).

Revision ID: 0024
Revises: 0025
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0024"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notification", sa.Column("params", postgresql.JSONB(), nullable=True))
    op.add_column("pickup_point", sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("CREATE INDEX app_user_phone_tail_idx ON app_user (tenant_id, right(phone, 4)) "
               "WHERE phone IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX app_user_phone_tail_idx")
    op.drop_column("pickup_point", "reminded_at")
    op.drop_column("notification", "params")
