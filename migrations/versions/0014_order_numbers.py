"""order and purchase-order numbers per tenant, with a random key per tenant; pick numbers

Numbers were one platform-wide sequence passed through a Feistel permutation whose key was in
the source: anyone with the source decoded them, and a tenant's first order showed how many
orders all tenants had placed before. Now:

- number_counter: one row per tenant and kind (order, purchase_order) with its own counter and
  32 random bytes of key (the server's strong random source, made with the row). Processes take
  blocks of values with number_block() in a statement of their own (autocommit), so no order
  waits on the row for longer than that statement, and tenants never meet.
- Tenants that have numbers of the old scheme are marked `legacy`: a new number that happens to
  equal an old one is skipped (numbers_taken()), so every existing number stays valid and
  unique. order_number_seq and purchase_order_number_seq are no longer used (kept for a
  downgrade).
- pick_list.order_ids: the orders the close confirmed at the point, in the order they were
  placed; an order's pick number ("#12" on its bag, on the leader's pick list instead of the
  customer's pickup code) is its position. Backfilled for the batches closed already.

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service.tenants.rls import enable_tenant_rls

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

KEY_DEFAULT = "uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid())"

# The last of p_count new values of the tenant's counter (values last - p_count + 1 .. last), its
# key, and whether old-scheme numbers exist. Run in a transaction of its own: the row stays locked
# until commit.
NUMBER_BLOCK = """
CREATE OR REPLACE FUNCTION number_block(p_tenant uuid, p_kind text, p_count int)
RETURNS TABLE (last_value bigint, key bytea, legacy boolean)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
#variable_conflict use_column
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  RETURN QUERY
  INSERT INTO number_counter AS c (tenant_id, kind, next_value) VALUES (p_tenant, p_kind, p_count)
  ON CONFLICT (tenant_id, kind) DO UPDATE SET next_value = c.next_value + EXCLUDED.next_value
  RETURNING c.next_value, c.key, c.legacy;
END
$fn$
"""

# Which of these numbers the tenant has already (old-scheme numbers of a legacy tenant).
NUMBERS_TAKEN = """
CREATE OR REPLACE FUNCTION numbers_taken(p_tenant uuid, p_kind text, p_numbers text[])
RETURNS SETOF text
LANGUAGE plpgsql STABLE SECURITY INVOKER AS $fn$
BEGIN
  PERFORM set_config('app.tenant_id', p_tenant::text, true);
  IF p_kind = 'order' THEN
    RETURN QUERY SELECT o.number::text FROM customer_order o
                  WHERE o.tenant_id = p_tenant AND o.number = ANY (p_numbers);
  ELSE
    RETURN QUERY SELECT po.number::text FROM purchase_order po
                  WHERE po.tenant_id = p_tenant AND po.number = ANY (p_numbers);
  END IF;
END
$fn$
"""

BACKFILL_COUNTERS = """
INSERT INTO number_counter (tenant_id, kind, legacy)
SELECT t.id, k.kind,
       CASE k.kind WHEN 'order' THEN EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = t.id)
                   ELSE EXISTS (SELECT 1 FROM purchase_order po WHERE po.tenant_id = t.id) END
FROM tenant t CROSS JOIN (VALUES ('order'), ('purchase_order')) AS k(kind)
"""

# The orders each close confirmed (still not cancelled, or cancelled after it finished: migration
# 0010), in the order they were placed.
BACKFILL_PICK_LISTS = """
UPDATE pick_list pl SET order_ids = coalesce((
  SELECT array_agg(o.id ORDER BY o.created_at, o.id)
  FROM customer_order o
  LEFT JOIN batch_close bc ON bc.tenant_id = o.tenant_id AND bc.batch_id = o.batch_id
  WHERE o.tenant_id = pl.tenant_id AND o.batch_id = pl.batch_id AND o.pickup_point_id = pl.pickup_point_id
    AND (o.status IN ('PAID', 'PLACED', 'CONFIRMED', 'READY_FOR_PICKUP', 'PICKED_UP')
         OR (o.status = 'CANCELLED' AND o.cancelled_at > bc.finished_at))), '{}')
"""


def upgrade() -> None:
    op.create_table(
        "number_counter",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("next_value", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("key", sa.LargeBinary(), server_default=sa.text(KEY_DEFAULT), nullable=False),
        sa.Column("legacy", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.CheckConstraint("kind IN ('order', 'purchase_order')", name="number_counter_kind"),
        sa.PrimaryKeyConstraint("tenant_id", "kind"),
    )
    enable_tenant_rls(op.execute, "number_counter")
    op.execute(BACKFILL_COUNTERS)
    op.execute(NUMBER_BLOCK)
    op.execute(NUMBERS_TAKEN)
    op.add_column("pick_list", sa.Column("order_ids", postgresql.ARRAY(sa.Uuid()),
                                         server_default=sa.text("'{}'"), nullable=False))
    op.execute(BACKFILL_PICK_LISTS)


def downgrade() -> None:
    op.drop_column("pick_list", "order_ids")
    op.execute("DROP FUNCTION IF EXISTS numbers_taken(uuid, text, text[])")
    op.execute("DROP FUNCTION IF EXISTS number_block(uuid, text, int)")
    op.drop_table("number_counter")
