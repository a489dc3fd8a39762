"""foundation: tenants, accounts, api keys

Revision ID: 0001
Revises: 
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# The transaction's tenant, which every row-level security policy compares with.
CURRENT_TENANT_FUNCTION = """
CREATE OR REPLACE FUNCTION current_tenant_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$
"""


def upgrade() -> None:
    op.execute(CURRENT_TENANT_FUNCTION)
    op.create_table('tenant',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('slug', sa.String(length=40), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('timezone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=3), nullable=False),
    sa.Column('payment_mode', sa.String(length=20), nullable=False),
    sa.Column('default_commission_rate', sa.Numeric(precision=5, scale=4), server_default=sa.text('0.10'), nullable=False),
    sa.Column('payment_window_minutes', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('slug')
    )
    op.create_table('app_user',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('display_name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=254), nullable=True),
    sa.Column('phone', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('app_user_email_key', 'app_user', ['tenant_id', sa.literal_column('lower(email)')], unique=True)
    op.create_index('app_user_phone_key', 'app_user', ['tenant_id', 'phone'], unique=True)
    op.create_table('api_key',
    sa.Column('tenant_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('secret_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('clock_timestamp()'), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id', 'created_by'], ['app_user.tenant_id', 'app_user.id'], ),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenant.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    enable_tenant_rls(op.execute, "app_user", "api_key")


def downgrade() -> None:
    op.drop_table('api_key')
    op.drop_index('app_user_phone_key', table_name='app_user')
    op.drop_index('app_user_email_key', table_name='app_user')
    op.drop_table('app_user')
    op.drop_table('tenant')
    op.execute("DROP FUNCTION IF EXISTS current_tenant_id()")
