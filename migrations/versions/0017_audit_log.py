"""audit_entry: the append-only, hash-chained log of what operators, leaders, suppliers, API
keys and the platform did

One row per state-changing mutation, written in the mutation's transaction. `seq` numbers a
tenant's entries 1, 2, 3...; `prev_hash` is the previous entry's `hash`, and `hash` is sha256 over
the entry's canonical serialisation (service/audit/chain.py), so an edited, inserted or deleted
row breaks the chain (`groupbuy audit verify`); audit_chain_head holds each tenant's last
`seq` and `hash`, so the chain's end is checked too. The app role may INSERT and SELECT only: the
grants here and in service/tenants/rls.py (re-run by `groupbuy migrate`) leave it no UPDATE,
DELETE or TRUNCATE.

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

from service.config import get_settings
from service.tenants.rls import enable_tenant_rls

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_kind", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=True),
        # JSON text, not jsonb: the hash covers these exact bytes.
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=True),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=True),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("seq > 0", name="audit_entry_seq_positive"),
        sa.PrimaryKeyConstraint("tenant_id", "seq"),
        sa.UniqueConstraint("tenant_id", "id", name="audit_entry_tenant_id_id"),
    )
    op.create_index("audit_entry_by_operation", "audit_entry", ["tenant_id", "operation", "seq"])
    op.create_index("audit_entry_by_actor", "audit_entry", ["tenant_id", "actor_id", "seq"])
    op.create_index("audit_entry_by_object", "audit_entry", ["tenant_id", "object_id", "seq"])
    op.create_index("audit_entry_by_time", "audit_entry", ["tenant_id", "at"])
    # The chain's head per tenant: appends lock its row (so they chain one after the other) and
    # read the previous hash from it in one statement; verify compares it with the last entry,
    # so entries deleted at the end are found too.
    op.create_table(
        "audit_chain_head",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=True),
    )
    enable_tenant_rls(op.execute, "audit_entry", "audit_chain_head")
    # The app role exists already on a database migrated before: it loses UPDATE and DELETE here
    # (a fresh one gets only SELECT, INSERT from `groupbuy migrate`'s grants).
    role = get_settings().app_db_role
    op.execute(f"""DO $$ BEGIN
                     IF EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN
                       REVOKE UPDATE, DELETE, TRUNCATE ON TABLE audit_entry FROM {role};
                       GRANT SELECT, INSERT ON TABLE audit_entry TO {role};
                     END IF;
                   END $$""")


def downgrade() -> None:
    op.drop_table("audit_chain_head")
    op.drop_table("audit_entry")
