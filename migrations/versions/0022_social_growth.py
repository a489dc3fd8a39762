"""social growth: share links, visits, referral bindings, order referrer chains, distribution

- share_link: a sharer's link to a batch, offer, community group or 拼团, under a random code
  (>= 64 bits; it says nothing about the sharer).
- share_visit: each opening of a code; referral_binding: a customer's referrer, as history
  (superseded_at closes a binding a LATEST rebind replaced), one in force per customer.
- order_referral: the referrer chain (levels 1 and 2) snapshotted on an order placed with a share
  code, by referral_snapshot() in the order's transaction.
- offer_distribution: per-offer rates or fixed amounts per unit.
- distribution_commission (+ _line): distributors' commissions, pending at the close, earned at
  pickup, reversed on refund, shaped like commission_entry. Levels are 1 or 2 by CHECK: there is
  no level 3 to store.
- tenant.distribution_group_buy_orders / distribution_coupon_orders: whether 拼团 and coupon
  orders earn distribution commission (default no).

Revision ID: 0022
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0022"
down_revision = "0020"
branch_labels = None
depends_on = None

REFERRAL_BIND = """
CREATE OR REPLACE FUNCTION referral_bind(p_tenant uuid, p_customer uuid, p_link uuid)
RETURNS uuid LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_referrer uuid;
  v_mode text;
  v_current uuid;
  v_at timestamptz;
BEGIN
  SELECT sharer_id INTO v_referrer FROM share_link WHERE tenant_id = p_tenant AND id = p_link;
  IF v_referrer IS NULL OR v_referrer = p_customer THEN
    RETURN NULL;  -- no self-referral
  END IF;
  -- One binding change at a time per tenant, so the cycle check below sees every binding made
  -- before it (two customers binding to each other at once would otherwise both pass).
  PERFORM pg_advisory_xact_lock(hashtextextended('referral_binding:' || p_tenant::text, 0));
  SELECT t.referral_binding INTO v_mode FROM tenant t WHERE t.id = p_tenant;
  SELECT b.referrer_id INTO v_current FROM referral_binding b
   WHERE b.tenant_id = p_tenant AND b.customer_id = p_customer AND b.superseded_at IS NULL;
  IF v_current = v_referrer OR (v_current IS NOT NULL AND v_mode = 'FIRST') THEN
    RETURN NULL;
  END IF;
  -- No cycles: the customer must not be among the referrer's own referrers, at any depth.
  IF EXISTS (
    WITH RECURSIVE up(user_id) AS (
      SELECT v_referrer
      UNION
      SELECT b.referrer_id FROM referral_binding b JOIN up ON b.customer_id = up.user_id
       WHERE b.tenant_id = p_tenant AND b.superseded_at IS NULL
    )
    SELECT 1 FROM up WHERE up.user_id = p_customer
  ) THEN
    RETURN NULL;
  END IF;
  v_at := clock_timestamp();
  UPDATE referral_binding SET superseded_at = v_at
   WHERE tenant_id = p_tenant AND customer_id = p_customer AND superseded_at IS NULL;
  INSERT INTO referral_binding (tenant_id, id, customer_id, referrer_id, share_link_id, bound_at)
  VALUES (p_tenant, gen_random_uuid(), p_customer, v_referrer, p_link, v_at);
  RETURN v_referrer;
END $$
"""

REFERRAL_SNAPSHOT = """
CREATE OR REPLACE FUNCTION referral_snapshot(p_tenant uuid, p_order uuid, p_code text)
RETURNS int LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_link uuid;
  v_customer uuid;
  v_new boolean;
  v_level1 uuid;
  v_level2 uuid;
BEGIN
  SELECT id INTO v_link FROM share_link WHERE tenant_id = p_tenant AND code = p_code;
  IF v_link IS NULL THEN
    RAISE EXCEPTION 'no such share code' USING ERRCODE = 'GB005';
  END IF;
  SELECT o.customer_id INTO v_customer FROM customer_order o WHERE o.tenant_id = p_tenant AND o.id = p_order;
  INSERT INTO share_visit (tenant_id, id, share_link_id, visitor_id, order_id, visited_at)
  VALUES (p_tenant, gen_random_uuid(), v_link, v_customer, p_order, clock_timestamp());
  -- The order binds its customer when it is their first order, or when they registered within
  -- the attribution window.
  SELECT NOT EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = p_tenant AND o.customer_id = v_customer
                        AND o.id <> p_order)
         OR u.created_at >= clock_timestamp() - make_interval(days => t.attribution_window_days)
    INTO v_new
    FROM app_user u JOIN tenant t ON t.id = u.tenant_id
   WHERE u.tenant_id = p_tenant AND u.id = v_customer;
  IF v_new THEN
    PERFORM referral_bind(p_tenant, v_customer, v_link);
  END IF;
  -- The chain in force now, written on the order: a later rebind changes nothing placed.
  SELECT referrer_id INTO v_level1 FROM referral_binding
   WHERE tenant_id = p_tenant AND customer_id = v_customer AND superseded_at IS NULL;
  IF v_level1 IS NULL THEN
    RETURN 0;
  END IF;
  INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id, share_link_id)
  VALUES (p_tenant, p_order, 1, v_level1, v_customer, v_link);
  SELECT referrer_id INTO v_level2 FROM referral_binding
   WHERE tenant_id = p_tenant AND customer_id = v_level1 AND superseded_at IS NULL;
  IF v_level2 IS NULL OR v_level2 = v_customer THEN
    RETURN 1;
  END IF;
  INSERT INTO order_referral (tenant_id, order_id, level, referrer_id, customer_id, share_link_id)
  VALUES (p_tenant, p_order, 2, v_level2, v_customer, NULL);
  RETURN 2;
END $$
"""

TABLES = ("share_link", "share_visit", "referral_binding", "order_referral", "offer_distribution",
          "distribution_commission", "distribution_commission_line")
LEVELS = "level IN (1, 2)"


def _ts(name: str, nullable: bool = False, default: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable,
                     server_default=sa.text("clock_timestamp()") if default else None)


def upgrade() -> None:
    op.add_column("tenant", sa.Column("distribution_group_buy_orders", sa.Boolean(), nullable=False,
                                      server_default=sa.text("false")))
    op.add_column("tenant", sa.Column("distribution_coupon_orders", sa.Boolean(), nullable=False,
                                      server_default=sa.text("false")))
    op.create_table(
        "share_link",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("sharer_id", sa.Uuid(), nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("target_id", sa.Uuid(), nullable=False),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "sharer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.UniqueConstraint("tenant_id", "code", name="share_link_code_key"),
        sa.UniqueConstraint("tenant_id", "sharer_id", "target", "target_id", name="share_link_once"),
        sa.CheckConstraint("target IN ('BATCH', 'OFFER', 'COMMUNITY_GROUP', 'GROUP_BUY')", name="share_link_target"),
    )
    op.create_table(
        "share_visit",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("share_link_id", sa.Uuid(), nullable=False),
        sa.Column("visitor_id", sa.Uuid(), nullable=True),
        sa.Column("order_id", sa.Uuid(), nullable=True),
        _ts("visited_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "share_link_id"], ["share_link.tenant_id", "share_link.id"],
                                ondelete="CASCADE"),
    )
    op.create_index("share_visit_link_idx", "share_visit", ["tenant_id", "share_link_id", "visited_at"])
    op.create_table(
        "referral_binding",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("referrer_id", sa.Uuid(), nullable=False),
        sa.Column("share_link_id", sa.Uuid(), nullable=False),
        _ts("bound_at", default=True),
        _ts("superseded_at", nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "customer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "referrer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "share_link_id"], ["share_link.tenant_id", "share_link.id"]),
        sa.CheckConstraint("referrer_id <> customer_id", name="referral_binding_not_self"),
        sa.CheckConstraint("superseded_at IS NULL OR superseded_at >= bound_at", name="referral_binding_period"),
    )
    op.create_index("referral_binding_current", "referral_binding", ["tenant_id", "customer_id"], unique=True,
                    postgresql_where=sa.text("superseded_at IS NULL"))
    op.create_index("referral_binding_history", "referral_binding", ["tenant_id", "customer_id", "bound_at"])
    op.create_index("referral_binding_referrer", "referral_binding", ["tenant_id", "referrer_id", "bound_at"])
    op.create_table(
        "order_referral",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("referrer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("share_link_id", sa.Uuid(), nullable=True),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "order_id", "level"),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "referrer_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.CheckConstraint(LEVELS, name="order_referral_two_levels"),
        sa.CheckConstraint("referrer_id <> customer_id", name="order_referral_not_buyer"),
    )
    op.create_table(
        "offer_distribution",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("level1_rate", sa.Numeric(5, 4), nullable=True),
        sa.Column("level2_rate", sa.Numeric(5, 4), nullable=True),
        sa.Column("level1_amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("level2_amount_minor", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "offer_id"),
        sa.ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"], ondelete="CASCADE"),
        sa.CheckConstraint("coalesce(level1_rate, 0) + coalesce(level2_rate, 0) <= 0.3 "
                           "AND coalesce(level1_rate, 0) >= 0 AND coalesce(level2_rate, 0) >= 0",
                           name="offer_distribution_rates"),
        sa.CheckConstraint("coalesce(level1_amount_minor, 0) >= 0 AND coalesce(level2_amount_minor, 0) >= 0",
                           name="offer_distribution_amounts"),
    )
    op.create_table(
        "distribution_commission",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("beneficiary_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("reversed_minor", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("status", sa.String(20), nullable=False),
        _ts("earned_at", nullable=True),
        _ts("reversed_at", nullable=True),
        _ts("created_at", default=True),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "beneficiary_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        sa.UniqueConstraint("tenant_id", "order_id", "level", name="distribution_commission_once"),
        sa.CheckConstraint(LEVELS, name="distribution_commission_two_levels"),
        sa.CheckConstraint("beneficiary_id <> customer_id", name="distribution_commission_not_buyer"),
        sa.CheckConstraint("amount_minor >= 0 AND reversed_minor >= 0", name="distribution_commission_amount"),
        sa.CheckConstraint("status IN ('PENDING', 'EARNED', 'REVERSED')", name="distribution_commission_status"),
    )
    op.create_index("distribution_commission_beneficiary", "distribution_commission",
                    ["tenant_id", "beneficiary_id", "created_at", "id"])
    op.create_table(
        "distribution_commission_line",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_line_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "order_line_id", "level"),
        sa.ForeignKeyConstraint(["tenant_id", "order_id", "level"],
                                ["distribution_commission.tenant_id", "distribution_commission.order_id",
                                 "distribution_commission.level"], ondelete="CASCADE"),
        sa.CheckConstraint(LEVELS, name="distribution_commission_line_two_levels"),
        sa.CheckConstraint("amount_minor >= 0", name="distribution_commission_line_amount"),
    )
    enable_tenant_rls(op.execute, *TABLES)
    op.execute(REFERRAL_BIND)
    op.execute(REFERRAL_SNAPSHOT)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS referral_snapshot(uuid, uuid, text)")
    op.execute("DROP FUNCTION IF EXISTS referral_bind(uuid, uuid, uuid)")
    for table in reversed(TABLES):
        op.drop_table(table)
    op.drop_column("tenant", "distribution_coupon_orders")
    op.drop_column("tenant", "distribution_group_buy_orders")
