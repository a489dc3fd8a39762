"""batches and orders

Revision ID: 0003
Revises: 0002

Besides the tables (all with RLS): the order-number sequence and the deferred constraint
trigger that enforces the cutoff with the database clock as each order's transaction commits.
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

from service.tenants.rls import enable_tenant_rls

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('outbox_event',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('subject_type', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=False),
    sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('relayed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('outbox_event_pending_idx', 'outbox_event', ['tenant_id', 'created_at'], unique=False, postgresql_where=sa.text('relayed_at IS NULL'))
    op.create_table('batch',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('pickup_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('closes_at > opens_at', name='batch_window_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('batch_page_idx', 'batch', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_index('batch_status_closes_idx', 'batch', ['tenant_id', 'status', 'closes_at'], unique=False)
    op.create_index('batch_status_opens_idx', 'batch', ['tenant_id', 'status', 'opens_at'], unique=False)
    op.create_table('offer',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('stock_limit', sa.Integer(), nullable=True),
    sa.Column('per_customer_limit', sa.Integer(), nullable=True),
    sa.Column('min_group_quantity', sa.Integer(), nullable=False),
    sa.Column('sold', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='ACTIVE', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('min_group_quantity >= 1', name='offer_min_group_check'),
    sa.CheckConstraint('per_customer_limit IS NULL OR per_customer_limit >= 1', name='offer_customer_limit_check'),
    sa.CheckConstraint('price_minor > 0', name='offer_price_check'),
    sa.CheckConstraint('sold >= 0 AND (stock_limit IS NULL OR sold <= stock_limit)', name='offer_sold_check'),
    sa.CheckConstraint('stock_limit IS NULL OR stock_limit >= 1', name='offer_stock_limit_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['product.tenant_id', 'product.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'batch_id', 'product_id', name='offer_one_per_product')
    )
    op.create_index('offer_batch_idx', 'offer', ['tenant_id', 'batch_id', 'position'], unique=False)
    op.create_table('customer_order',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('pickup_point_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('customer_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('leader_id', sa.Uuid(), nullable=False),
    sa.Column('commission_rate', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total_minor', sa.BigInteger(), nullable=False),
    sa.Column('refunded_minor', sa.BigInteger(), server_default=sa.text('0'), nullable=False),
    sa.Column('pickup_code', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
    sa.Column('idempotency_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('request_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('payment_reference', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('picked_up_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('commit_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('total_minor >= 0 AND refunded_minor >= 0', name='customer_order_amounts_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'leader_id'], ['leader.tenant_id', 'leader.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'pickup_point_id'], ['pickup_point.tenant_id', 'pickup_point.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'batch_id', 'pickup_point_id', 'pickup_code', name='customer_order_pickup_code_key'),
    sa.UniqueConstraint('tenant_id', 'customer_id', 'idempotency_key', name='customer_order_idempotency_key'),
    sa.UniqueConstraint('tenant_id', 'number', name='customer_order_number_key')
    )
    op.create_index('customer_order_batch_idx', 'customer_order', ['tenant_id', 'batch_id', 'status'], unique=False)
    op.create_index('customer_order_customer_idx', 'customer_order', ['tenant_id', 'customer_id', 'created_at', 'id'], unique=False)
    op.create_index('customer_order_page_idx', 'customer_order', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_index('customer_order_point_idx', 'customer_order', ['tenant_id', 'pickup_point_id', 'created_at', 'id'], unique=False)
    op.create_index('customer_order_unpaid_idx', 'customer_order', ['tenant_id', 'created_at'], unique=False, postgresql_where=sa.text("status = 'PENDING_PAYMENT'"))
    op.create_table('offer_customer_quantity',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity >= 0', name='offer_customer_quantity_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'customer_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'offer_id'], ['offer.tenant_id', 'offer.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'offer_id', 'customer_id')
    )
    op.create_table('order_line',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('offer_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('product_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price_minor', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='ACTIVE', nullable=False),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint('quantity >= 1', name='order_line_quantity_check'),
    sa.CheckConstraint('unit_price_minor > 0', name='order_line_price_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'offer_id'], ['offer.tenant_id', 'offer.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['customer_order.tenant_id', 'customer_order.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['product.tenant_id', 'product.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'order_id', 'offer_id', name='order_line_one_per_offer')
    )
    op.create_index('order_line_offer_idx', 'order_line', ['tenant_id', 'offer_id', 'status'], unique=False)
    op.create_table('refund',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('order_line_id', sa.Uuid(), nullable=True),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('amount_minor > 0', name='refund_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['customer_order.tenant_id', 'customer_order.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'order_line_id'], ['order_line.tenant_id', 'order_line.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('refund_order_idx', 'refund', ['tenant_id', 'order_id'], unique=False)
    # Order numbers: a global sequence, permuted in Python so numbers are short, unique and reveal
    # nothing about volumes; no per-tenant counter row for every order to queue on.
    op.execute("CREATE SEQUENCE order_number_seq AS bigint MINVALUE 1 MAXVALUE 1099511627775")
    op.execute(ORDER_CUTOFF_FUNCTION)
    op.execute(
        "CREATE CONSTRAINT TRIGGER customer_order_cutoff AFTER INSERT ON customer_order "
        "DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION order_cutoff_check()"
    )
    enable_tenant_rls(op.execute, 'outbox_event', 'batch', 'offer', 'customer_order', 'offer_customer_quantity', 'order_line', 'refund')


# Runs when the order's transaction commits (deferred): the batch must still be OPEN and the
# database clock before closes_at at that moment. FOR SHARE makes a close or cancel, which
# UPDATEs the batch row, wait for in-flight orders, and makes this check wait for (and then see)
# a close that already began. The moment of the check is recorded on the order.
ORDER_CUTOFF_FUNCTION = """
CREATE OR REPLACE FUNCTION order_cutoff_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  batch_status text;
  batch_closes timestamptz;
  checked timestamptz;
BEGIN
  SELECT status, closes_at INTO batch_status, batch_closes
    FROM batch WHERE tenant_id = NEW.tenant_id AND id = NEW.batch_id FOR SHARE;
  checked := clock_timestamp();
  IF batch_status IS DISTINCT FROM 'OPEN' OR checked >= batch_closes THEN
    RAISE EXCEPTION 'batch % is not open for orders (status %, closes %)', NEW.batch_id, batch_status, batch_closes
      USING ERRCODE = 'GB001';
  END IF;
  UPDATE customer_order SET commit_checked_at = checked WHERE tenant_id = NEW.tenant_id AND id = NEW.id;
  RETURN NULL;
END
$$
"""


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS customer_order_cutoff ON customer_order")
    op.execute("DROP FUNCTION IF EXISTS order_cutoff_check()")
    op.execute("DROP SEQUENCE IF EXISTS order_number_seq")
    op.drop_index('refund_order_idx', table_name='refund')
    op.drop_table('refund')
    op.drop_index('order_line_offer_idx', table_name='order_line')
    op.drop_table('order_line')
    op.drop_table('offer_customer_quantity')
    op.drop_index('customer_order_unpaid_idx', table_name='customer_order', postgresql_where=sa.text("status = 'PENDING_PAYMENT'"))
    op.drop_index('customer_order_point_idx', table_name='customer_order')
    op.drop_index('customer_order_page_idx', table_name='customer_order')
    op.drop_index('customer_order_customer_idx', table_name='customer_order')
    op.drop_index('customer_order_batch_idx', table_name='customer_order')
    op.drop_table('customer_order')
    op.drop_index('offer_batch_idx', table_name='offer')
    op.drop_table('offer')
    op.drop_index('batch_status_opens_idx', table_name='batch')
    op.drop_index('batch_status_closes_idx', table_name='batch')
    op.drop_index('batch_page_idx', table_name='batch')
    op.drop_table('batch')
    op.drop_index('outbox_event_pending_idx', table_name='outbox_event', postgresql_where=sa.text('relayed_at IS NULL'))
    op.drop_table('outbox_event')
