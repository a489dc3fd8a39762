-- Last changed by migration 0031; a change needs a migration carrying this whole text.
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
