"""A 拼团 payment after its group's window is not counted

group_buy_paid() counted a payment whenever the group was still OPEN, so a payment that arrived
after the window ended, before the expiry job ran, could still fill (or open a virtual success
of) the group: the outcome depended on when the job ran. Now the window is the deadline: such a
payment gets the outcome ENDED and the caller cancels and refunds its order, as for a full group.

Revision ID: 0032
Revises: 0031
"""

from alembic import op

revision = "0032"
down_revision = "0031"
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
    op.execute(GROUP_BUY_PAID)


def downgrade() -> None:
    op.execute(OLD_GROUP_BUY_PAID)
