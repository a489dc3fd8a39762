"""an offer's stock is split into slots (分桶), so concurrent orders of one offer update different rows

In a flash sale everyone buys the same offer, and every order updated that one offer row: each
waited for the previous order's commit. Now an offer's stock is held in `offer.stock_slots` rows of
offer_stock_slot (8 by default), each with a quota; the quotas add up to the stock limit (NULL
quotas: unlimited) and each slot's `sold` is the quantity of the ACTIVE lines that took from it
(order_line.stock_slot).

- An order takes each line's quantity from the slot its database session maps to
  (pg_backend_pid() % stock_slots: a session runs one transaction at a time, so concurrent orders
  mostly meet different rows), with one conditional UPDATE as before.
- When that slot has no room, offer_stock_take() locks every slot of the offer in slot order,
  refuses if the offer as a whole has no room, and otherwise takes the quantity into the same
  slot and spreads what is left free evenly over the slots. So an order is refused exactly when
  the offer's free stock is below its quantity, as with one row.
- Cancellations and the close give a line's quantity back to its slot.
- offer.sold is gone: what an offer has sold is the sum of its slots (offer_sold(offer)).
- Slots are made with the offer (statement trigger); a changed stock limit re-spreads the quotas
  and is refused below what is sold (the check offer.sold had, same name).

Revision ID: 0011
Revises: 0010
"""

from alembic import op

from service.tenants.rls import enable_tenant_rls

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SIGNATURE = "uuid, uuid, uuid, uuid, uuid[], int[], text, text, text, text, text, text, numeric, boolean, boolean"

# Locks every slot of an offer in slot order, then takes p_take into p_slot when the offer has
# that much free, and spreads the rest evenly. p_limit: the stock limit to spread (a changed
# limit); NULL keeps the current total of the quotas. Returns what was free before the take
# (NULL: unlimited); nothing changes when that is less than p_take.
STOCK_TAKE_FUNCTION = """
CREATE OR REPLACE FUNCTION offer_stock_take(p_tenant uuid, p_offer uuid, p_slot int, p_take int,
                                            p_limit int DEFAULT NULL)
RETURNS bigint LANGUAGE plpgsql VOLATILE SECURITY INVOKER AS $fn$
DECLARE
  v_slots int;
  v_total bigint;
  v_sold bigint;
  v_free bigint;
BEGIN
  SELECT count(*), sum(s.quota), sum(s.sold) INTO v_slots, v_total, v_sold
    FROM (SELECT quota, sold FROM offer_stock_slot
           WHERE tenant_id = p_tenant AND offer_id = p_offer ORDER BY slot FOR UPDATE) s;
  IF v_slots = 0 THEN
    RETURN 0;
  END IF;
  IF p_limit IS NULL AND v_total IS NULL THEN
    -- Unlimited: nothing to check or spread.
    UPDATE offer_stock_slot SET sold = sold + p_take
     WHERE tenant_id = p_tenant AND offer_id = p_offer AND slot = p_slot;
    RETURN NULL;
  END IF;
  v_total := coalesce(p_limit, v_total);
  v_free := v_total - v_sold;
  IF v_free < p_take THEN
    RETURN v_free;
  END IF;
  UPDATE offer_stock_slot s
     SET sold = s.sold + CASE WHEN s.slot = p_slot THEN p_take ELSE 0 END,
         quota = s.sold + CASE WHEN s.slot = p_slot THEN p_take ELSE 0 END
                 + (v_free - p_take) / v_slots + CASE WHEN s.slot < (v_free - p_take) % v_slots THEN 1 ELSE 0 END
   WHERE s.tenant_id = p_tenant AND s.offer_id = p_offer;
  RETURN v_free;
END
$fn$
"""

SLOTS_FOR_NEW_OFFERS = """
CREATE OR REPLACE FUNCTION offer_stock_slots_create() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
  INSERT INTO offer_stock_slot (tenant_id, offer_id, slot, quota, sold)
  SELECT a.tenant_id, a.id, s.slot,
         a.stock_limit / a.stock_slots + CASE WHEN s.slot < a.stock_limit % a.stock_slots THEN 1 ELSE 0 END, 0
    FROM added a CROSS JOIN LATERAL generate_series(0, a.stock_slots - 1) AS s(slot);
  RETURN NULL;
END
$fn$
"""

SLOTS_FOR_NEW_LIMIT = """
CREATE OR REPLACE FUNCTION offer_stock_limit_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
DECLARE
  v_free bigint;
BEGIN
  IF NEW.stock_limit IS NULL THEN
    PERFORM 1 FROM offer_stock_slot WHERE tenant_id = NEW.tenant_id AND offer_id = NEW.id ORDER BY slot FOR UPDATE;
    UPDATE offer_stock_slot SET quota = NULL WHERE tenant_id = NEW.tenant_id AND offer_id = NEW.id;
    RETURN NULL;
  END IF;
  v_free := offer_stock_take(NEW.tenant_id, NEW.id, 0, 0, NEW.stock_limit);
  IF v_free < 0 THEN
    RAISE EXCEPTION 'stock limit % is below what offer % has sold', NEW.stock_limit, NEW.id
      USING ERRCODE = 'check_violation', CONSTRAINT = 'offer_sold_check';
  END IF;
  RETURN NULL;
END
$fn$
"""

# What an offer has sold, for SQL that reads offers (`offer_sold(o)`; a computed column for
# GraphQL-over-SQL tools).
OFFER_SOLD_FUNCTION = """
CREATE OR REPLACE FUNCTION offer_sold(o offer) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(sum(s.sold), 0)::integer FROM offer_stock_slot s WHERE s.tenant_id = o.tenant_id AND s.offer_id = o.id
$$
"""


def _place_order_0009() -> str:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "place_order_0009", Path(__file__).with_name("0009_place_order_plans_once.py")
    )
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    return previous.PLACE_ORDER_FUNCTION


def _replace(source: str, old: str, new: str) -> str:
    if source.count(old) != 1:
        raise RuntimeError(f"place_order(): expected one {old[:60]!r}")
    return source.replace(old, new)


def place_order_function() -> str:
    """0009's place_order() with the stock taken from slots; everything else as it was."""
    fn = _place_order_0009()
    fn = _replace(fn, "  v_limits int[];\n", "  v_limits int[];\n  v_slots int[];\n  v_slot int;\n")
    fn = _replace(
        fn,
        "         array_agg(o.price_minor ORDER BY v.i), array_agg(o.per_customer_limit ORDER BY v.i)\n"
        "    INTO v_found, v_products, v_names, v_prices, v_limits\n",
        "         array_agg(o.price_minor ORDER BY v.i), array_agg(o.per_customer_limit ORDER BY v.i),\n"
        "         array_agg(pg_backend_pid() % o.stock_slots ORDER BY v.i)\n"
        "    INTO v_found, v_products, v_names, v_prices, v_limits, v_slots\n",
    )
    fn = _replace(
        fn,
        "      SELECT o.id, o.product_id, o.price_minor, o.per_customer_limit, p.name FROM offer o\n",
        "      SELECT o.id, o.product_id, o.price_minor, o.per_customer_limit, o.stock_slots, p.name FROM offer o\n",
    )
    fn = _replace(
        fn,
        "  INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, quantity,\n"
        "      unit_price_minor, status)\n"
        "    SELECT p_tenant, gen_random_uuid(), v_id, x.offer_id, x.product_id, (x.i - 1)::int, x.name, x.q, x.price, 'ACTIVE'\n"
        "    FROM unnest(p_offers, v_products, v_names, p_quantities, v_prices) WITH ORDINALITY\n"
        "      AS x(offer_id, product_id, name, q, price, i);\n",
        "  INSERT INTO order_line (tenant_id, id, order_id, offer_id, product_id, position, product_name, quantity,\n"
        "      unit_price_minor, status, stock_slot)\n"
        "    SELECT p_tenant, gen_random_uuid(), v_id, x.offer_id, x.product_id, (x.i - 1)::int, x.name, x.q, x.price,\n"
        "      'ACTIVE', x.slot\n"
        "    FROM unnest(p_offers, v_products, v_names, p_quantities, v_prices, v_slots) WITH ORDINALITY\n"
        "      AS x(offer_id, product_id, name, q, price, slot, i);\n",
    )
    old_stock = fn[fn.index("  FOR r IN SELECT x.offer_id, x.q, x.i FROM unnest(p_offers, p_quantities)"):
                   fn.index("  -- Alone, this statement is the transaction")]
    new_stock = """\
  -- Each line from its slot; when the slot has no room, offer_stock_take() locks all of the
  -- offer's slots (in slot order) and refuses only if the offer as a whole has not enough.
  -- The slot's UPDATE runs in a block that is rolled back when it finds no room: an UPDATE that
  -- waited for another order re-checks the newest version under its lock and keeps that lock
  -- even when the check fails; held into offer_stock_take(), it would be a slot locked out of
  -- slot order, and two such orders deadlock. Rolling the block back releases it.
  FOR r IN SELECT x.offer_id, x.q, x.slot, x.i FROM unnest(p_offers, p_quantities, v_slots) WITH ORDINALITY
             AS x(offer_id, q, slot, i) ORDER BY x.offer_id LOOP
    BEGIN
      UPDATE offer_stock_slot SET sold = sold + r.q
        WHERE tenant_id = p_tenant AND offer_id = r.offer_id AND slot = r.slot AND (quota IS NULL OR sold + r.q <= quota);
      IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'GB010';
      END IF;
    EXCEPTION WHEN SQLSTATE 'GB010' THEN
      v_left := offer_stock_take(p_tenant, r.offer_id, r.slot, r.q);
      IF v_left < r.q THEN
        RAISE EXCEPTION 'order refused' USING ERRCODE = 'GB002', DETAIL = jsonb_build_array(jsonb_build_object(
          'code', 'OUT_OF_STOCK', 'message', format('Only %s left.', greatest(v_left, 0)),
          'field', jsonb_build_array('lines', (r.i - 1)::text, 'quantity')))::text;
      END IF;
    END;
  END LOOP;

"""
    fn = _replace(fn, old_stock, new_stock)
    return fn


def upgrade() -> None:
    op.execute("ALTER TABLE offer ADD COLUMN stock_slots smallint NOT NULL DEFAULT 8")
    op.execute("ALTER TABLE offer ADD CONSTRAINT offer_stock_slots_check CHECK (stock_slots BETWEEN 1 AND 64)")
    op.execute("ALTER TABLE order_line ADD COLUMN stock_slot smallint NOT NULL DEFAULT 0")
    op.execute("""
        CREATE TABLE offer_stock_slot (
          tenant_id uuid NOT NULL,
          offer_id uuid NOT NULL,
          slot smallint NOT NULL,
          quota integer,
          sold integer NOT NULL DEFAULT 0,
          PRIMARY KEY (tenant_id, offer_id, slot),
          FOREIGN KEY (tenant_id, offer_id) REFERENCES offer (tenant_id, id) ON DELETE CASCADE,
          CONSTRAINT offer_stock_slot_check CHECK (sold >= 0 AND (quota IS NULL OR sold <= quota))
        ) WITH (fillfactor = 50)
    """)
    enable_tenant_rls(op.execute, "offer_stock_slot")
    # What every existing offer has sold goes to its slot 0 (its lines' slot); the free stock is spread.
    op.execute("""
        INSERT INTO offer_stock_slot (tenant_id, offer_id, slot, quota, sold)
        SELECT o.tenant_id, o.id, s.slot,
               CASE WHEN o.stock_limit IS NOT NULL THEN
                 CASE WHEN s.slot = 0 THEN o.sold ELSE 0 END
                 + (o.stock_limit - o.sold) / o.stock_slots
                 + CASE WHEN s.slot < (o.stock_limit - o.sold) % o.stock_slots THEN 1 ELSE 0 END
               END,
               CASE WHEN s.slot = 0 THEN o.sold ELSE 0 END
          FROM offer o CROSS JOIN LATERAL generate_series(0, o.stock_slots - 1) AS s(slot)
    """)
    op.execute("ALTER TABLE offer DROP CONSTRAINT offer_sold_check")
    op.execute("ALTER TABLE offer DROP COLUMN sold")
    op.execute(OFFER_SOLD_FUNCTION)
    op.execute(STOCK_TAKE_FUNCTION)
    op.execute(SLOTS_FOR_NEW_OFFERS)
    op.execute(SLOTS_FOR_NEW_LIMIT)
    op.execute("CREATE TRIGGER offer_stock_slots AFTER INSERT ON offer REFERENCING NEW TABLE AS added "
               "FOR EACH STATEMENT EXECUTE FUNCTION offer_stock_slots_create()")
    op.execute("CREATE TRIGGER offer_stock_limit AFTER UPDATE OF stock_limit ON offer FOR EACH ROW "
               "WHEN (OLD.stock_limit IS DISTINCT FROM NEW.stock_limit) EXECUTE FUNCTION offer_stock_limit_changed()")
    op.execute(f"DROP FUNCTION place_order({SIGNATURE})")
    op.execute(place_order_function())


def downgrade() -> None:
    op.execute(f"DROP FUNCTION place_order({SIGNATURE})")
    op.execute(_place_order_0009())
    op.execute("DROP TRIGGER offer_stock_limit ON offer")
    op.execute("DROP TRIGGER offer_stock_slots ON offer")
    op.execute("DROP FUNCTION offer_stock_limit_changed()")
    op.execute("DROP FUNCTION offer_stock_slots_create()")
    op.execute("DROP FUNCTION offer_stock_take(uuid, uuid, int, int, int)")
    op.execute("DROP FUNCTION offer_sold(offer)")
    op.execute("ALTER TABLE offer ADD COLUMN sold integer NOT NULL DEFAULT 0")
    op.execute("UPDATE offer o SET sold = s.sold FROM (SELECT tenant_id, offer_id, sum(sold) AS sold "
               "FROM offer_stock_slot GROUP BY tenant_id, offer_id) s "
               "WHERE o.tenant_id = s.tenant_id AND o.id = s.offer_id")
    op.execute("ALTER TABLE offer ADD CONSTRAINT offer_sold_check "
               "CHECK (sold >= 0 AND (stock_limit IS NULL OR sold <= stock_limit))")
    op.execute("DROP TABLE offer_stock_slot")
    op.execute("ALTER TABLE order_line DROP COLUMN stock_slot")
    op.execute("ALTER TABLE offer DROP CONSTRAINT offer_stock_slots_check")
    op.execute("ALTER TABLE offer DROP COLUMN stock_slots")
