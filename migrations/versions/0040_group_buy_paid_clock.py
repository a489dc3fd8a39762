"""拼团 payment on Citus: group_buy_paid() reads the clock once, before its updates

group_buy_paid() set paid_at, opened_at, expires_at and resolved_at with clock_timestamp() inside
its UPDATEs. Citus refuses a volatile function in an UPDATE of a distributed table (on the
coordinator and delegated to the worker alike), so on a cluster every 拼团 payment failed. The
clock is now read into a variable first: one moment for the payment's updates, as before within
microseconds. Same outcomes on one node.

Revision ID: 0040
Revises: 0037
"""

from alembic import op

revision = "0040"
down_revision = "0037"
branch_labels = None
depends_on = None

GROUP_BUY_PAID = r"""
CREATE OR REPLACE FUNCTION group_buy_paid(p_tenant uuid, p_order uuid)
RETURNS TABLE (group_buy_id uuid, outcome text)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
DECLARE
  v_member record;
  v_group record;
  v_paid integer;
  v_now timestamptz;
BEGIN
  SELECT m.group_buy_id, m.paid_at INTO v_member
    FROM group_buy_member m WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  SELECT g.id, g.size, g.status, g.opened_at, g.expires_at, g.window_minutes, g.batch_id INTO v_group
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
  IF v_group.status <> 'OPEN' OR v_paid >= v_group.size
     OR (v_group.opened_at IS NOT NULL AND v_group.expires_at <= clock_timestamp()) THEN
    UPDATE group_buy_member m SET open = false WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
    outcome := CASE WHEN v_group.status = 'SUCCEEDED' OR v_paid >= v_group.size THEN 'FULL' ELSE 'ENDED' END;
    RETURN NEXT;
    RETURN;
  END IF;
  v_now := clock_timestamp();
  UPDATE group_buy_member m SET paid_at = v_now WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
  v_paid := v_paid + 1;
  outcome := 'PAID';
  IF v_group.opened_at IS NULL THEN
    UPDATE group_buy g SET opened_at = v_now,
           expires_at = least(v_now + make_interval(mins => v_group.window_minutes),
                              (SELECT b.closes_at FROM batch b WHERE b.tenant_id = p_tenant AND b.id = v_group.batch_id))
      WHERE g.tenant_id = p_tenant AND g.id = v_group.id;
    outcome := 'OPENED';
  END IF;
  IF v_paid >= v_group.size THEN
    UPDATE group_buy g SET status = 'SUCCEEDED', resolved_at = v_now
      WHERE g.tenant_id = p_tenant AND g.id = v_group.id;
    UPDATE group_buy_member m SET open = false WHERE m.tenant_id = p_tenant AND m.group_buy_id = v_group.id;
    outcome := 'SUCCEEDED';
  END IF;
  RETURN NEXT;
END
$$
"""

OLD_GROUP_BUY_PAID = r"""
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
  SELECT g.id, g.size, g.status, g.opened_at, g.expires_at, g.window_minutes, g.batch_id INTO v_group
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
  IF v_group.status <> 'OPEN' OR v_paid >= v_group.size
     OR (v_group.opened_at IS NOT NULL AND v_group.expires_at <= clock_timestamp()) THEN
    UPDATE group_buy_member m SET open = false WHERE m.tenant_id = p_tenant AND m.order_id = p_order;
    outcome := CASE WHEN v_group.status = 'SUCCEEDED' OR v_paid >= v_group.size THEN 'FULL' ELSE 'ENDED' END;
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
    op.execute(GROUP_BUY_PAID)


def downgrade() -> None:
    op.execute(OLD_GROUP_BUY_PAID)
