-- 拼团: the order was just marked paid (or placed, for a tenant paid at pickup). Under the group's row
-- lock (taken by service/groupbuys/payment.py before the order's, so payments, joins and expiry lock
-- in one order) the paid members are counted: the order takes a place if one is left, else it
-- lost the race for the last place (outcome FULL), or came after its group's window or end
-- (outcome ENDED: the window is the deadline, whenever the expiry job runs); the caller cancels
-- and refunds it. The first paid member opens the group and starts its window; the size-th
-- succeeds it.
-- Outcomes: none (not a 拼团 order), PAID (already counted, or a place taken), OPENED, SUCCEEDED, FULL,
-- ENDED.
-- The clock is read into v_now before the updates: Citus refuses a volatile function in an UPDATE.
-- Last changed by migration 0040; a change needs a migration carrying this whole text.
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
