"""拼团: group-forming offers (service/groupbuys)

- offer.group_size (2-50; NULL: the offer sells alone), group_window_minutes, group_expiry
  (REFUND or SUCCEED_ANYWAY);
- group_buy: one group of an offer, OPEN until its size-th paid member (SUCCEEDED) or its window's
  end / the batch's cutoff (FAILED, or SUCCEEDED with succeeded_virtually); share_code is 122
  random bits, unique in the tenant;
- group_buy_member: one row per order in a group; a partial unique index keeps a customer in at
  most one open group per offer;
- group_buy_join() and group_buy_paid() (service/groupbuys/sql/).

Revision ID: 0023
Revises: 0022
"""

import sqlalchemy as sa
from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

GROUP_BUY_JOIN = r"""
CREATE OR REPLACE FUNCTION group_buy_join(p_tenant uuid, p_order uuid, p_group uuid, p_hold_minutes integer)
RETURNS uuid
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_field jsonb := CASE WHEN p_group IS NULL THEN '["startGroupBuy"]'::jsonb ELSE '["groupBuyId"]'::jsonb END;
  v_order record;
  v_offer record;
  v_group record;
  v_lines integer;
  v_taken integer;
  v_id uuid;
BEGIN
  SELECT o.customer_id, o.batch_id, o.status INTO v_order
    FROM customer_order o WHERE o.tenant_id = p_tenant AND o.id = p_order;
  SELECT count(*) INTO v_lines FROM order_line l WHERE l.tenant_id = p_tenant AND l.order_id = p_order;
  SELECT f.id, f.group_size, f.group_window_minutes, f.group_expiry, b.closes_at INTO v_offer
    FROM order_line l
    JOIN offer f ON f.tenant_id = l.tenant_id AND f.id = l.offer_id
    JOIN batch b ON b.tenant_id = f.tenant_id AND b.id = f.batch_id
    WHERE l.tenant_id = p_tenant AND l.order_id = p_order
    LIMIT 1;
  IF p_group IS NOT NULL THEN
    SELECT g.id, g.offer_id, g.size, g.status, g.opened_at, g.expires_at INTO v_group
      FROM group_buy g WHERE g.tenant_id = p_tenant AND g.id = p_group FOR UPDATE;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'NOT_FOUND', 'message', 'No such group for this offer.', 'field', v_field))::text;
    END IF;
  END IF;
  IF v_lines <> 1 OR v_offer.group_size IS NULL THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'INVALID', 'message', 'A 拼团 order has exactly one line, of an offer that forms groups.',
      'field', v_field))::text;
  END IF;

  -- The customer's places in groups that ended, or of orders cancelled since, are free again.
  UPDATE group_buy_member m SET open = false
    WHERE m.tenant_id = p_tenant AND m.offer_id = v_offer.id AND m.customer_id = v_order.customer_id AND m.open
      AND (EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = m.tenant_id AND o.id = m.order_id
                     AND o.status = 'CANCELLED')
           OR EXISTS (SELECT 1 FROM group_buy g WHERE g.tenant_id = m.tenant_id AND g.id = m.group_buy_id
                        AND g.status <> 'OPEN'));

  IF p_group IS NULL THEN
    INSERT INTO group_buy (tenant_id, id, offer_id, batch_id, starter_id, size, window_minutes, expiry, status,
                           share_code, expires_at)
      VALUES (p_tenant, gen_random_uuid(), v_offer.id, v_order.batch_id, v_order.customer_id, v_offer.group_size,
              v_offer.group_window_minutes, v_offer.group_expiry, 'OPEN',
              rtrim(translate(encode(uuid_send(gen_random_uuid()), 'base64'), '+/', '-_'), '='),
              least(clock_timestamp() + make_interval(mins => v_offer.group_window_minutes), v_offer.closes_at))
      RETURNING id INTO v_id;
  ELSE
    IF v_group.offer_id <> v_offer.id THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'NOT_FOUND', 'message', 'No such group for this offer.', 'field', v_field))::text;
    END IF;
    IF v_group.status <> 'OPEN' OR v_group.opened_at IS NULL OR v_group.expires_at <= clock_timestamp() THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'INVALID', 'message', 'This group is not open for joining: start a new one.',
        'field', v_field))::text;
    END IF;
    SELECT count(*) INTO v_taken
      FROM group_buy_member m JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
      WHERE m.tenant_id = p_tenant AND m.group_buy_id = p_group
        AND ((m.paid_at IS NOT NULL AND o.status <> 'CANCELLED')
             OR (m.paid_at IS NULL AND o.status = 'PENDING_PAYMENT' AND m.hold_until > clock_timestamp()));
    IF v_taken >= v_group.size THEN
      RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
        'code', 'GROUP_FULL', 'message', 'This group is full: start a new one.', 'field', v_field))::text;
    END IF;
    v_id := p_group;
  END IF;

  BEGIN
    INSERT INTO group_buy_member (tenant_id, order_id, group_buy_id, offer_id, customer_id, hold_until)
      VALUES (p_tenant, p_order, v_id, v_offer.id, v_order.customer_id,
              clock_timestamp() + make_interval(mins => p_hold_minutes));
  EXCEPTION WHEN unique_violation THEN
    RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
      'code', 'CONFLICT', 'message', 'You are already in an open group for this offer.', 'field', v_field))::text;
  END;
  RETURN v_id;
END
$$
"""

GROUP_BUY_PAID = r"""
CREATE OR REPLACE FUNCTION group_buy_paid(p_tenant uuid, p_order uuid)
RETURNS TABLE (group_buy_id uuid, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_member record;
  v_group record;
  v_paid integer;
BEGIN
  SELECT m.group_buy_id, m.paid_at INTO v_member
    FROM group_buy_member m WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT g.id, g.size, g.status, g.opened_at, g.window_minutes, g.batch_id INTO v_group
    FROM group_buy g WHERE g.tenant_id = p_tenant AND g.id = v_member.group_buy_id FOR UPDATE;
  group_buy_id := v_group.id;
  IF v_member.paid_at IS NOT NULL THEN
    outcome := 'PAID';
    RETURN NEXT;
    RETURN;
  END IF;
  SELECT count(*) INTO v_paid
    FROM group_buy_member m JOIN customer_order o ON o.tenant_id = m.tenant_id AND o.id = m.order_id
    WHERE m.tenant_id = p_tenant AND m.group_buy_id = v_group.id AND m.paid_at IS NOT NULL
      AND o.status <> 'CANCELLED';
  IF v_group.status <> 'OPEN' OR v_paid >= v_group.size THEN
    UPDATE group_buy_member m SET open = false WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
    outcome := 'FULL';
    RETURN NEXT;
    RETURN;
  END IF;
  UPDATE group_buy_member m SET paid_at = clock_timestamp() WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
  v_paid := v_paid + 1;
  outcome := 'PAID';
  IF v_group.opened_at IS NULL THEN
    UPDATE group_buy g SET opened_at = clock_timestamp(),
           expires_at = least(clock_timestamp() + make_interval(mins => v_group.window_minutes),
                              (SELECT b.closes_at FROM batch b WHERE b.tenant_id = p_tenant AND b.id = v_group.batch_id))
      WHERE g.tenant_id = p_tenant AND g.id = v_group.id;
    outcome := 'OPENED';
  END IF;
  IF v_paid >= v_group.size THEN
    UPDATE group_buy g SET status = 'SUCCEEDED', resolved_at = clock_timestamp()
      WHERE g.tenant_id = p_tenant AND g.id = v_group.id;
    UPDATE group_buy_member m SET open = false WHERE m.tenant_id = p_tenant AND m.group_buy_id = v_group.id;
    outcome := 'SUCCEEDED';
  END IF;
  RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    op.add_column("offer", sa.Column("group_size", sa.Integer(), nullable=True))
    op.add_column("offer", sa.Column("group_window_minutes", sa.Integer(), nullable=True))
    op.add_column("offer", sa.Column("group_expiry", sa.String(length=20), nullable=True))
    op.create_check_constraint(
        "offer_group_check", "offer",
        "group_size IS NULL OR (group_size BETWEEN 2 AND 50 AND group_window_minutes >= 1 "
        "AND group_expiry IN ('REFUND', 'SUCCEED_ANYWAY'))",
    )
    op.create_table(
        "group_buy",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("batch_id", sa.Uuid(), nullable=False),
        sa.Column("starter_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.SmallInteger(), nullable=False),
        sa.Column("window_minutes", sa.Integer(), nullable=False),
        sa.Column("expiry", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("share_code", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("succeeded_virtually", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"),
                  nullable=False),
        sa.CheckConstraint("size BETWEEN 2 AND 50", name="group_buy_size_check"),
        sa.CheckConstraint("status IN ('OPEN', 'SUCCEEDED', 'FAILED')", name="group_buy_status_check"),
        sa.CheckConstraint("expiry IN ('REFUND', 'SUCCEED_ANYWAY')", name="group_buy_expiry_check"),
        sa.ForeignKeyConstraint(["tenant_id", "offer_id"], ["offer.tenant_id", "offer.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "batch_id"], ["batch.tenant_id", "batch.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "starter_id"], ["app_user.tenant_id", "app_user.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
    )
    op.create_index("group_buy_share_code_key", "group_buy", ["tenant_id", "share_code"], unique=True)
    op.create_index("group_buy_open_idx", "group_buy", ["tenant_id", "expires_at"],
                    postgresql_where=sa.text("status = 'OPEN'"))
    op.create_index("group_buy_batch_idx", "group_buy", ["tenant_id", "batch_id", "status"])
    op.create_index("group_buy_offer_idx", "group_buy", ["tenant_id", "offer_id"])
    op.create_table(
        "group_buy_member",
        sa.Column("tenant_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("group_buy_id", sa.Uuid(), nullable=False),
        sa.Column("offer_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("hold_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("clock_timestamp()"),
                  nullable=False),
        sa.ForeignKeyConstraint(["tenant_id", "order_id"], ["customer_order.tenant_id", "customer_order.id"]),
        sa.ForeignKeyConstraint(["tenant_id", "group_buy_id"], ["group_buy.tenant_id", "group_buy.id"]),
        sa.PrimaryKeyConstraint("tenant_id", "order_id"),
    )
    op.create_index("group_buy_member_group_idx", "group_buy_member", ["tenant_id", "group_buy_id"])
    op.create_index("group_buy_member_one_open_key", "group_buy_member", ["tenant_id", "offer_id", "customer_id"],
                    unique=True, postgresql_where=sa.text("open"))
    enable_tenant_rls(op.execute, "group_buy", "group_buy_member")
    op.execute(GROUP_BUY_JOIN)
    op.execute(GROUP_BUY_PAID)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS group_buy_paid(uuid, uuid)")
    op.execute("DROP FUNCTION IF EXISTS group_buy_join(uuid, uuid, uuid, integer)")
    op.drop_table("group_buy_member")
    op.drop_table("group_buy")
    op.drop_constraint("offer_group_check", "offer")
    op.drop_column("offer", "group_expiry")
    op.drop_column("offer", "group_window_minutes")
    op.drop_column("offer", "group_size")
