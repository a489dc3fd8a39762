"""close: purchase orders, pick lists, commissions

Revision ID: 0004
Revises: 0005
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


# Platform jobs over every tenant: SECURITY DEFINER (run as the owner, which bypasses RLS) and
# returning ids only, so the service's role can ask "what is due" without seeing any tenant's data.
REQUEST_DUE_BATCH_CLOSES = """
CREATE OR REPLACE FUNCTION request_due_batch_closes(retry_seconds int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  INSERT INTO batch_close AS c (tenant_id, batch_id, requested_at)
  SELECT b.tenant_id, b.id, clock_timestamp() FROM batch b
  WHERE b.status = 'OPEN' AND b.closes_at <= clock_timestamp()
  ON CONFLICT (tenant_id, batch_id) DO UPDATE SET requested_at = EXCLUDED.requested_at
  WHERE c.requested_at IS NULL OR c.requested_at < clock_timestamp() - make_interval(secs => retry_seconds)
  RETURNING c.tenant_id, c.batch_id
$$
"""

COMPLETE_FINISHED_BATCHES = """
CREATE OR REPLACE FUNCTION complete_finished_batches(window_days int)
RETURNS TABLE (tenant_id uuid, batch_id uuid)
LANGUAGE sql SECURITY DEFINER SET search_path = public
AS $$
  UPDATE batch b SET status = 'COMPLETED'
  WHERE b.status = 'CLOSED' AND (
    b.pickup_date + window_days < (clock_timestamp() AT TIME ZONE (SELECT t.timezone FROM tenant t WHERE t.id = b.tenant_id))::date
    OR NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = b.tenant_id AND o.batch_id = b.id
                   AND o.status IN ('CONFIRMED', 'READY_FOR_PICKUP')))
  RETURNING b.tenant_id, b.id
$$
"""


def upgrade() -> None:
    op.execute("CREATE SEQUENCE purchase_order_number_seq")
    op.create_table('batch_close',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_lines', sa.Integer(), server_default='0', nullable=False),
    sa.Column('duration_ms', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'batch_id')
    )
    op.create_table('purchase_order',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('supplier_id', sa.Uuid(), nullable=False),
    sa.Column('number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('total_cost_minor', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('shipped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['supplier.tenant_id', 'supplier.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'batch_id', 'supplier_id', name='purchase_order_once_per_supplier'),
    sa.UniqueConstraint('tenant_id', 'number', name='purchase_order_number_key')
    )
    op.create_index('purchase_order_page_idx', 'purchase_order', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_index('purchase_order_supplier_idx', 'purchase_order', ['tenant_id', 'supplier_id', 'created_at', 'id'], unique=False)
    op.create_table('pick_list',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('pickup_point_id', sa.Uuid(), nullable=False),
    sa.Column('leader_id', sa.Uuid(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'leader_id'], ['leader.tenant_id', 'leader.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'pickup_point_id'], ['pickup_point.tenant_id', 'pickup_point.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'batch_id', 'pickup_point_id', name='pick_list_once_per_point')
    )
    op.create_index('pick_list_leader_idx', 'pick_list', ['tenant_id', 'leader_id', 'created_at'], unique=False)
    op.create_table('purchase_order_line',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('purchase_order_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_cost_minor', sa.BigInteger(), nullable=False),
    sa.Column('total_cost_minor', sa.BigInteger(), nullable=False),
    sa.Column('revenue_minor', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('quantity > 0', name='purchase_order_line_quantity_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['product.tenant_id', 'product.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id'], ['purchase_order.tenant_id', 'purchase_order.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'purchase_order_id', 'product_id')
    )
    op.create_table('commission',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('leader_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('rate', sa.Numeric(precision=5, scale=4), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('amount_minor', sa.BigInteger(), nullable=False),
    sa.Column('reversed_minor', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('earned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.CheckConstraint('amount_minor >= 0 AND reversed_minor >= 0', name='commission_amount_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'batch_id'], ['batch.tenant_id', 'batch.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'leader_id'], ['leader.tenant_id', 'leader.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'order_id'], ['customer_order.tenant_id', 'customer_order.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'order_id', name='commission_once_per_order')
    )
    op.create_index('commission_batch_idx', 'commission', ['tenant_id', 'batch_id'], unique=False)
    op.create_index('commission_leader_idx', 'commission', ['tenant_id', 'leader_id', 'created_at', 'id'], unique=False)
    op.create_table('pick_list_line',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('pick_list_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('product_name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name='pick_list_line_quantity_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'pick_list_id'], ['pick_list.tenant_id', 'pick_list.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'product_id'], ['product.tenant_id', 'product.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'pick_list_id', 'product_id')
    )
    op.create_table('purchase_order_delivery',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('purchase_order_id', sa.Uuid(), nullable=False),
    sa.Column('product_id', sa.Uuid(), nullable=False),
    sa.Column('pickup_point_id', sa.Uuid(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name='purchase_order_delivery_quantity_check'),
    sa.ForeignKeyConstraint(['tenant_id', 'pickup_point_id'], ['pickup_point.tenant_id', 'pickup_point.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'purchase_order_id', 'product_id'], ['purchase_order_line.tenant_id', 'purchase_order_line.purchase_order_id', 'purchase_order_line.product_id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'purchase_order_id', 'product_id', 'pickup_point_id')
    )
    op.execute(REQUEST_DUE_BATCH_CLOSES)
    op.execute(COMPLETE_FINISHED_BATCHES)
    enable_tenant_rls(op.execute, "batch_close", "purchase_order", "purchase_order_line", "purchase_order_delivery",
                      "pick_list", "pick_list_line", "commission")


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS request_due_batch_closes(int)")
    op.execute("DROP FUNCTION IF EXISTS complete_finished_batches(int)")
    op.drop_table('purchase_order_delivery')
    op.drop_table('pick_list_line')
    op.drop_index('commission_leader_idx', table_name='commission')
    op.drop_index('commission_batch_idx', table_name='commission')
    op.drop_table('commission')
    op.drop_table('purchase_order_line')
    op.drop_index('pick_list_leader_idx', table_name='pick_list')
    op.drop_table('pick_list')
    op.drop_index('purchase_order_supplier_idx', table_name='purchase_order')
    op.drop_index('purchase_order_page_idx', table_name='purchase_order')
    op.drop_table('purchase_order')
    op.drop_table('batch_close')
    op.execute("DROP SEQUENCE purchase_order_number_seq")
