"""close: purchase orders, pick lists, commissions

Revision ID: 0004
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

from service.tenants.rls import enable_tenant_rls


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('batch_close',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('batch_id', sa.Uuid(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('order_lines', sa.Integer(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
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
    enable_tenant_rls(op.execute, "batch_close", "purchase_order", "purchase_order_line", "purchase_order_delivery",
                      "pick_list", "pick_list_line", "commission")


def downgrade() -> None:
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
