"""webhook_subscription: the previous secret keeps signing for an overlap after a rotation

`previous_secret_version` signs beside the new one until `previous_secret_until`, so a receiver
can switch secrets at its own pace (the webhook-signature header carries both).

Revision ID: 0025
Revises: 0027
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("webhook_subscription", sa.Column("previous_secret_version", sa.Integer(), nullable=True))
    op.add_column("webhook_subscription",
                  sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("webhook_subscription", "previous_secret_until")
    op.drop_column("webhook_subscription", "previous_secret_version")
