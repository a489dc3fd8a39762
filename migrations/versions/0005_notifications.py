"""notifications: webhook subscriptions, in-app notifications, deliveries

Revision ID: 0005
Revises: 0004

Every table has RLS like the others. The relay and the retry job find the tenants that have
work as the owner (ids only) and then work per tenant as the app role, so no SECURITY DEFINER
function is needed.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from service.tenants.rls import enable_tenant_rls

revision = '0005'
# TEMPORARY: 0004 (the close) is being written concurrently; the integrator sets this to '0004'.
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('webhook_subscription',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('events', postgresql.ARRAY(sa.String(length=40)), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('secret_version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('secret_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('webhook_subscription_page_idx', 'webhook_subscription', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_table('notification',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('outbox_event_id', sa.Uuid(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('body', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'outbox_event_id'], ['outbox_event.tenant_id', 'outbox_event.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'outbox_event_id', 'user_id', name='notification_once_per_user')
    )
    op.create_index('notification_user_idx', 'notification', ['tenant_id', 'user_id', 'created_at', 'id'], unique=False)
    op.create_index('notification_unread_idx', 'notification', ['tenant_id', 'user_id', 'created_at', 'id'], unique=False, postgresql_where=sa.text('read_at IS NULL'))
    op.create_table('delivery',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('outbox_event_id', sa.Uuid(), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
    sa.Column('subscription_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.String(length=10), server_default='PENDING', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('enqueued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status_code', sa.Integer(), nullable=True),
    sa.Column('last_error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint("channel IN ('WEBHOOK', 'EMAIL')", name='delivery_channel_check'),
    sa.CheckConstraint("status IN ('PENDING', 'SENDING', 'DELIVERED', 'FAILED')", name='delivery_status_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'outbox_event_id'], ['outbox_event.tenant_id', 'outbox_event.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'subscription_id'], ['webhook_subscription.tenant_id', 'webhook_subscription.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'outbox_event_id', 'channel', 'target', name='delivery_once_per_target')
    )
    op.create_index('delivery_subscription_idx', 'delivery', ['tenant_id', 'subscription_id', 'created_at', 'id'], unique=False)
    op.create_index('delivery_due_idx', 'delivery', ['next_attempt_at'], unique=False, postgresql_where=sa.text("status IN ('PENDING', 'SENDING')"))
    enable_tenant_rls(op.execute, 'webhook_subscription', 'notification', 'delivery')


def downgrade() -> None:
    op.drop_index('delivery_due_idx', table_name='delivery', postgresql_where=sa.text("status IN ('PENDING', 'SENDING')"))
    op.drop_index('delivery_subscription_idx', table_name='delivery')
    op.drop_table('delivery')
    op.drop_index('notification_unread_idx', table_name='notification', postgresql_where=sa.text('read_at IS NULL'))
    op.drop_index('notification_user_idx', table_name='notification')
    op.drop_table('notification')
    op.drop_index('webhook_subscription_page_idx', table_name='webhook_subscription')
    op.drop_table('webhook_subscription')
