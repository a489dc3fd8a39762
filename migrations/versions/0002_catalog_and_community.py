"""catalog and community

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supplier',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('contact_email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_table('leader',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('commission_rate', sa.Numeric(precision=5, scale=4), nullable=True),
    sa.Column('status_reason', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'user_id', name='leader_one_per_user')
    )
    op.create_index('leader_page_idx', 'leader', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_table('product',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('supplier_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('unit', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
    sa.Column('image_url', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
    sa.Column('cost_minor', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'supplier_id'], ['supplier.tenant_id', 'supplier.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('product_page_idx', 'product', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_index('product_supplier_idx', 'product', ['tenant_id', 'supplier_id', 'created_at', 'id'], unique=False)
    op.create_table('community_group',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('leader_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('invite_code', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'leader_id'], ['leader.tenant_id', 'leader.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'invite_code', name='community_group_invite_code_key')
    )
    op.create_index('community_group_leader_idx', 'community_group', ['tenant_id', 'leader_id'], unique=False)
    op.create_table('pickup_point',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('leader_id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=False),
    sa.Column('longitude', sa.Float(), nullable=False),
    sa.Column('opening_hours', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'leader_id'], ['leader.tenant_id', 'leader.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('pickup_point_geo_idx', 'pickup_point', ['tenant_id', 'latitude', 'longitude'], unique=False, postgresql_where=sa.text('active'))
    op.create_index('pickup_point_leader_idx', 'pickup_point', ['tenant_id', 'leader_id'], unique=False)
    op.create_index('pickup_point_page_idx', 'pickup_point', ['tenant_id', 'created_at', 'id'], unique=False)
    op.create_table('group_member',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('group_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'group_id'], ['community_group.tenant_id', 'community_group.id'], ),
    sa.ForeignKeyConstraint(['tenant_id', 'user_id'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'group_id', 'user_id')
    )
    op.create_index('group_member_user_idx', 'group_member', ['tenant_id', 'user_id'], unique=False)
    op.add_column('app_user', sa.Column('supplier_id', sa.Uuid(), nullable=True))
    op.create_foreign_key('app_user_supplier_fk', 'app_user', 'supplier', ['tenant_id', 'supplier_id'], ['tenant_id', 'id'])
    enable_tenant_rls(op.execute, "supplier", "product", "leader", "pickup_point", "community_group", "group_member")


def downgrade() -> None:
    op.drop_constraint('app_user_supplier_fk', 'app_user', type_='foreignkey')
    op.drop_column('app_user', 'supplier_id')
    op.drop_index('group_member_user_idx', table_name='group_member')
    op.drop_table('group_member')
    op.drop_index('pickup_point_page_idx', table_name='pickup_point')
    op.drop_index('pickup_point_leader_idx', table_name='pickup_point')
    op.drop_index('pickup_point_geo_idx', table_name='pickup_point', postgresql_where=sa.text('active'))
    op.drop_table('pickup_point')
    op.drop_index('community_group_leader_idx', table_name='community_group')
    op.drop_table('community_group')
    op.drop_index('product_supplier_idx', table_name='product')
    op.drop_index('product_page_idx', table_name='product')
    op.drop_table('product')
    op.drop_index('leader_page_idx', table_name='leader')
    op.drop_table('leader')
    op.drop_table('supplier')
