"""coupon packs (券包): share-to-get rewards through the growth share codes

- coupon_pack: templates the friend gets and templates the sharer gets; shared as a share_link of
  target COUPON_PACK (added to share_link_target).
- coupon_pack_referral: one per order placed with a pack's code that was its customer's first
  order: PENDING, then GRANTED when the order is paid (PAID, or PICKED_UP when paid at pickup),
  CANCELLED when it is cancelled unpaid, NOT_FIRST when another first order of the friend was
  rewarded before. At most one GRANTED per friend (a partial unique index backs the lock).
- Triggers: share_visit AFTER INSERT (the order's snapshot of its share code) notes the reward;
  customer_order AFTER UPDATE OF status settles it, in the order's transaction.

Revision ID: 0031
Revises: 0030
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None

COUPON_PACK_NOTE = r"""
-- share_visit AFTER INSERT (an order placed with a share code): when the code shares a coupon pack
-- (券包) and the order is its customer's first (no other order but cancelled ones, no pack reward
-- yet), notes a PENDING reward for the order; coupon_pack_settle() grants it when the order is paid.
CREATE OR REPLACE FUNCTION coupon_pack_note()
RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_link record;
  v_friend uuid;
BEGIN
  SELECT s.sharer_id, s.target_id INTO v_link FROM share_link s
   WHERE s.tenant_id = NEW.tenant_id AND s.id = NEW.share_link_id AND s.target = 'COUPON_PACK';
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  SELECT o.customer_id INTO v_friend FROM customer_order o WHERE o.tenant_id = NEW.tenant_id AND o.id = NEW.order_id;
  IF v_friend IS NULL OR v_friend = v_link.sharer_id THEN
    RETURN NULL;  -- no self-referral
  END IF;
  IF NOT EXISTS (SELECT 1 FROM coupon_pack p WHERE p.tenant_id = NEW.tenant_id AND p.id = v_link.target_id
                    AND p.ended_at IS NULL)
     OR EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = NEW.tenant_id AND o.customer_id = v_friend
                   AND o.id <> NEW.order_id AND o.status <> 'CANCELLED')
     OR EXISTS (SELECT 1 FROM coupon_pack_referral r WHERE r.tenant_id = NEW.tenant_id AND r.friend_id = v_friend
                   AND r.status = 'GRANTED') THEN
    RETURN NULL;
  END IF;
  INSERT INTO coupon_pack_referral (tenant_id, id, pack_id, share_link_id, sharer_id, friend_id, order_id, status)
  VALUES (NEW.tenant_id, gen_random_uuid(), v_link.target_id, NEW.share_link_id, v_link.sharer_id, v_friend,
          NEW.order_id, 'PENDING')
  ON CONFLICT (tenant_id, order_id) DO NOTHING;
  RETURN NULL;
END $$
"""

COUPON_PACK_SETTLE = r"""
-- customer_order AFTER UPDATE OF status, to PAID, PICKED_UP (paid at pickup) or CANCELLED: settles
-- the order's PENDING coupon pack reward. Cancelled: nothing is granted. Paid: one coupon of each
-- of the pack's templates to the friend and to the sharer, once per friend (a lock per friend: of
-- two first orders paid at once the second sees the first's reward), each within its template's
-- per-customer limit and total quantity (guarded updates, as claims): a template that is full,
-- paused or ended gives nothing, never more than it has.
-- Lock order: the holdings, then the templates in id order, the order's own coupon's among them
-- (consume_for_order() updates it next): claims take holding -> template, so no cycle.
CREATE OR REPLACE FUNCTION coupon_pack_settle()
RETURNS trigger LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_ref coupon_pack_referral;
  v_item record;
  v_templates uuid[] := '{}';
  v_customers uuid[] := '{}';
  v_friend_side boolean[] := '{}';
  v_friend_coupons int := 0;
  v_sharer_coupons int := 0;
BEGIN
  SELECT * INTO v_ref FROM coupon_pack_referral r
   WHERE r.tenant_id = NEW.tenant_id AND r.order_id = NEW.id AND r.status = 'PENDING' FOR UPDATE;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  IF NEW.status = 'CANCELLED' THEN
    UPDATE coupon_pack_referral SET status = 'CANCELLED', settled_at = clock_timestamp()
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtextextended('coupon_pack_friend:' || NEW.tenant_id::text || ':'
                                                 || v_ref.friend_id::text, 0));
  IF EXISTS (SELECT 1 FROM coupon_pack_referral r WHERE r.tenant_id = NEW.tenant_id AND r.friend_id = v_ref.friend_id
                AND r.status = 'GRANTED') THEN
    UPDATE coupon_pack_referral SET status = 'NOT_FIRST', settled_at = clock_timestamp()
     WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
    RETURN NULL;
  END IF;
  FOR v_item IN
    SELECT t.id, x.customer_id, x.friend_side, t.per_customer_limit
      FROM coupon_pack p
      CROSS JOIN LATERAL (SELECT unnest(p.friend_template_ids), v_ref.friend_id, true
                          UNION ALL SELECT unnest(p.sharer_template_ids), v_ref.sharer_id, false)
           AS x(template_id, customer_id, friend_side)
      JOIN coupon_template t ON t.tenant_id = p.tenant_id AND t.id = x.template_id
     WHERE p.tenant_id = NEW.tenant_id AND p.id = v_ref.pack_id
       AND t.ended_at IS NULL AND NOT t.paused AND (t.valid_until IS NULL OR t.valid_until > clock_timestamp())
     ORDER BY t.id, x.customer_id
  LOOP
    INSERT INTO coupon_holding (tenant_id, template_id, customer_id, claimed)
    VALUES (NEW.tenant_id, v_item.id, v_item.customer_id, 1)
    ON CONFLICT (tenant_id, template_id, customer_id) DO UPDATE SET claimed = coupon_holding.claimed + 1
     WHERE coupon_holding.claimed < v_item.per_customer_limit;
    IF FOUND THEN
      v_templates := v_templates || v_item.id;
      v_customers := v_customers || v_item.customer_id;
      v_friend_side := v_friend_side || v_item.friend_side;
    END IF;
  END LOOP;
  PERFORM 1 FROM coupon_template t
   WHERE t.tenant_id = NEW.tenant_id
     AND (t.id = ANY (v_templates)
          OR t.id = (SELECT c.template_id FROM coupon c WHERE c.tenant_id = NEW.tenant_id AND c.order_id = NEW.id))
   ORDER BY t.id FOR UPDATE;
  FOR i IN 1 .. coalesce(array_length(v_templates, 1), 0) LOOP
    UPDATE coupon_template SET claimed = claimed + 1
     WHERE tenant_id = NEW.tenant_id AND id = v_templates[i]
       AND (total_quantity IS NULL OR claimed + 1 <= total_quantity);
    IF NOT FOUND THEN  -- sold out: the holding gives its count back
      UPDATE coupon_holding SET claimed = claimed - 1
       WHERE tenant_id = NEW.tenant_id AND template_id = v_templates[i] AND customer_id = v_customers[i];
      CONTINUE;
    END IF;
    INSERT INTO coupon (tenant_id, id, template_id, customer_id, status, valid_from, valid_until, order_id,
                        discount_minor, idempotency_key, granted, claimed_at, used_at)
    SELECT t.tenant_id, gen_random_uuid(), t.id, v_customers[i], 'AVAILABLE', t.valid_from,
           CASE WHEN t.valid_days IS NULL THEN t.valid_until
                ELSE least(t.valid_until, clock_timestamp() + make_interval(days => t.valid_days)) END,
           NULL, 0, 'pack:' || v_ref.id::text || ':' || t.id::text, true, clock_timestamp(), NULL
      FROM coupon_template t WHERE t.tenant_id = NEW.tenant_id AND t.id = v_templates[i];
    IF v_friend_side[i] THEN
      v_friend_coupons := v_friend_coupons + 1;
    ELSE
      v_sharer_coupons := v_sharer_coupons + 1;
    END IF;
  END LOOP;
  UPDATE coupon_pack_referral SET status = 'GRANTED', settled_at = clock_timestamp(),
         friend_coupons = v_friend_coupons, sharer_coupons = v_sharer_coupons
   WHERE tenant_id = NEW.tenant_id AND id = v_ref.id;
  RETURN NULL;
END $$
"""

TARGETS = "'BATCH', 'OFFER', 'COMMUNITY_GROUP', 'GROUP_BUY'"


def upgrade() -> None:
    op.drop_constraint("share_link_target", "share_link")
    op.create_check_constraint("share_link_target", "share_link", f"target IN ({TARGETS}, 'COUPON_PACK')")
    op.create_table(
        "coupon_pack",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("friend_template_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("sharer_template_ids", sa.ARRAY(sa.Uuid()), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.CheckConstraint("cardinality(friend_template_ids) BETWEEN 1 AND 10 "
                           "AND cardinality(sharer_template_ids) BETWEEN 1 AND 10", name="coupon_pack_templates"),
    )
    op.create_index("coupon_pack_page_idx", "coupon_pack", ["tenant_id", "created_at", "id"])
    op.create_table(
        "coupon_pack_referral",
        sa.Column("tenant_id", sa.Uuid(), sa.ForeignKey("tenant.id"), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pack_id", sa.Uuid(), nullable=False),
        sa.Column("share_link_id", sa.Uuid(), nullable=False),
        sa.Column("sharer_id", sa.Uuid(), nullable=False),
        sa.Column("friend_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("friend_coupons", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("sharer_coupons", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("clock_timestamp()")),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "pack_id"], ["coupon_pack.tenant_id", "coupon_pack.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "share_link_id"], ["share_link.tenant_id", "share_link.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "sharer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "friend_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.UniqueConstraint("tenant_id", "order_id", name="coupon_pack_referral_order_key"),
        sa.CheckConstraint("sharer_id <> friend_id", name="coupon_pack_referral_not_self"),
        sa.CheckConstraint("status IN ('PENDING', 'GRANTED', 'CANCELLED', 'NOT_FIRST')",
                           name="coupon_pack_referral_status"),
        sa.CheckConstraint("friend_coupons >= 0 AND sharer_coupons >= 0", name="coupon_pack_referral_counts"),
    )
    op.create_index("coupon_pack_referral_once", "coupon_pack_referral", ["tenant_id", "friend_id"], unique=True,
                    postgresql_where=sa.text("status = 'GRANTED'"))
    op.create_index("coupon_pack_referral_sharer_idx", "coupon_pack_referral",
                    ["tenant_id", "sharer_id", "created_at", "id"])
    enable_tenant_rls(op.execute, "coupon_pack", "coupon_pack_referral")
    op.execute(COUPON_PACK_NOTE)
    op.execute(COUPON_PACK_SETTLE)
    op.execute("CREATE TRIGGER coupon_pack_note AFTER INSERT ON share_visit FOR EACH ROW "
               "WHEN (NEW.order_id IS NOT NULL) EXECUTE FUNCTION coupon_pack_note()")
    op.execute("CREATE TRIGGER coupon_pack_settle AFTER UPDATE OF status ON customer_order FOR EACH ROW "
               "WHEN (NEW.status IS DISTINCT FROM OLD.status AND NEW.status IN ('PAID', 'PICKED_UP', 'CANCELLED')) "
               "EXECUTE FUNCTION coupon_pack_settle()")


def downgrade() -> None:
    op.execute("DROP TRIGGER coupon_pack_settle ON customer_order")
    op.execute("DROP TRIGGER coupon_pack_note ON share_visit")
    op.execute("DROP FUNCTION coupon_pack_settle()")
    op.execute("DROP FUNCTION coupon_pack_note()")
    op.drop_table("coupon_pack_referral")
    op.drop_table("coupon_pack")
    op.execute("DELETE FROM share_link WHERE target = 'COUPON_PACK'")
    op.drop_constraint("share_link_target", "share_link")
    op.create_check_constraint("share_link_target", "share_link", f"target IN ({TARGETS})")
