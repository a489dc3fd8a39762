-- Distribute the groupbuy schema over a Citus cluster, by tenant.
-- GENERATED from the SQLAlchemy metadata (service/tables.py) by
--   .venv/bin/python -m tests.test_citus_readiness --write
-- and checked by tests/test_citus_readiness.py; executed on a real cluster by
-- tests/citus/ (make test-citus). Do not edit by hand.
--
-- Run as the owner on the coordinator after `groupbuy migrate` (deploy/README.md, "Moving to
-- Citus"), and again after every later migration: tables already distributed are skipped, new
-- ones are distributed. Existing rows are copied into the shards. alembic_version stays local.

\set ON_ERROR_STOP on
CREATE EXTENSION IF NOT EXISTS citus;

-- Every session of this database: SET LOCAL (the app's tenant, app.tenant_id) reaches the
-- workers' connections of the transaction, so the row-level security policies on the shards
-- see the same tenant as the coordinator; triggers on distributed tables are allowed (ours
-- only touch rows of the same tenant, which are co-located).
DO $$ BEGIN
  EXECUTE format('ALTER DATABASE %I SET citus.propagate_set_commands = local', current_database());
  EXECUTE format('ALTER DATABASE %I SET citus.enable_unsafe_triggers = on', current_database());
END $$;
SET citus.propagate_set_commands = local;
SET citus.enable_unsafe_triggers = on;

-- Foreign keys touching a table not distributed yet are set aside and re-created once every
-- table is distributed (Citus refuses a key between a distributed and a local table).
CREATE TEMP TABLE citus_foreign_key AS
  SELECT c.conrelid::regclass::text AS table_name, c.conname, pg_get_constraintdef(c.oid) AS definition
  FROM pg_constraint c
  WHERE c.contype = 'f' AND c.connamespace = 'public'::regnamespace
    AND citus_table_is_visible(c.conrelid)  -- not a shard
    AND (c.conrelid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'))
         OR c.confrelid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't')));
DO $$ DECLARE fk record; BEGIN
  FOR fk IN SELECT * FROM citus_foreign_key LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', fk.table_name, fk.conname);
  END LOOP;
END $$;

-- Platform tables: one full copy on every node, joinable with every tenant table.
SELECT create_reference_table(t) FROM to_regclass('tenant') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));

-- Tenant tables, referenced tables first, all co-located with the first one: every row
-- of a tenant lives on the same node, so every query and foreign key of one tenant is local.
SELECT create_distributed_table(t, 'tenant_id') FROM to_regclass('number_counter') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('outbox_event') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('supplier') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('app_user') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('api_key') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('batch') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('batch_close') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('leader') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('community_group') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('group_member') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('ledger_entry') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('notification') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('password_reset') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('pickup_point') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('customer_order') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('commission_entry') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('distribution_commission') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('distribution_commission_line') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('order_referral') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('pick_list') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('product') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('offer') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('group_buy') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('group_buy_member') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('offer_customer_quantity') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('offer_distribution') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('offer_stock_slot') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('order_line') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('after_sales_request') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('purchase_order') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('delivery_line') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('purchase_order_line') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('refund') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('share_link') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('referral_binding') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('share_visit') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('webhook_subscription') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('delivery') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table(t, 'tenant_id', colocate_with => 'number_counter') FROM to_regclass('withdrawal') AS t WHERE t IS NOT NULL AND t NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));

-- Tables only the migrations know (no model in service/tables.py) that have tenant_id too.
DO $$ DECLARE t record; BEGIN
  FOR t IN SELECT c.oid::regclass::text AS name FROM pg_class c
           JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
           WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             AND c.oid NOT IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'))
           ORDER BY 1
  LOOP
    PERFORM create_distributed_table(t.name, 'tenant_id', colocate_with => 'number_counter');
  END LOOP;
END $$;

-- The foreign keys back, now between co-located tenant tables or to reference tables; one
-- connection per node (a key to a reference table may not follow parallel work in a transaction).
SET citus.multi_shard_modify_mode = sequential;
DO $$ DECLARE fk record; BEGIN
  FOR fk IN SELECT * FROM citus_foreign_key WHERE conname <> ALL (ARRAY[]::text[]) LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', fk.table_name, fk.conname, fk.definition);
  END LOOP;
END $$;
DROP TABLE citus_foreign_key;
RESET citus.multi_shard_modify_mode;

-- A trigger runs on the worker, on the shard; the statements it sends go through Citus, which
-- cannot see a statement trigger's transition table there. The new offers' stock slots are
-- made by a row trigger instead (the same rows, one single-shard INSERT per slot).
CREATE OR REPLACE FUNCTION offer_stock_slots_create_row() RETURNS trigger
LANGUAGE plpgsql SECURITY INVOKER AS $fn$
BEGIN
  FOR s IN 0 .. NEW.stock_slots - 1 LOOP
    INSERT INTO offer_stock_slot (tenant_id, offer_id, slot, quota, sold)
    VALUES (NEW.tenant_id, NEW.id, s,
            NEW.stock_limit / NEW.stock_slots + CASE WHEN s < NEW.stock_limit % NEW.stock_slots THEN 1 ELSE 0 END,
            0);
  END LOOP;
  RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS offer_stock_slots ON offer;
CREATE TRIGGER offer_stock_slots AFTER INSERT ON offer FOR EACH ROW
  EXECUTE FUNCTION offer_stock_slots_create_row();
-- The ledger's entries for a commission written or changed (migration 0019's statement
-- triggers, and 0028's for a sharer's distribution commission, service/ledger/sql): the same
-- entries and events, one commission row at a time.
CREATE OR REPLACE FUNCTION ledger_commission_earned_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE v_user uuid;
BEGIN
  IF NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0 THEN
    SELECT l.user_id INTO v_user FROM leader l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.leader_id;
    IF FOUND THEN
      INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                                commission_id, order_id)
      VALUES (NEW.tenant_id, v_user, NEW.leader_id, 'EARNED', NEW.currency, NEW.amount_minor, NEW.amount_minor,
              NEW.id, NEW.order_id);
    END IF;
  END IF;
  RETURN NULL;
END
$fn$;
CREATE OR REPLACE FUNCTION ledger_commission_changed_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  v_user uuid;
  e record;
  v_part bigint := OLD.reversed_minor - NEW.reversed_minor;
  v_exp int := CASE WHEN NEW.currency IN ('JPY', 'KRW', 'VND', 'CLP', 'ISK') THEN 0
                    WHEN NEW.currency IN ('BHD', 'KWD', 'OMR', 'TND') THEN 3 ELSE 2 END;
BEGIN
  SELECT l.user_id INTO v_user FROM leader l WHERE l.tenant_id = NEW.tenant_id AND l.id = NEW.leader_id;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  FOR e IN SELECT * FROM (VALUES
      ('EARNED', NEW.amount_minor, NEW.amount_minor, 0::bigint,
       OLD.earned_at IS NULL AND NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0),
      ('REVERSED', v_part, v_part, 0::bigint,
       OLD.earned_at IS NOT NULL AND OLD.released_at IS NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('CLAWBACK', v_part, 0::bigint, v_part,
       OLD.released_at IS NOT NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('RELEASED', NEW.amount_minor, -NEW.amount_minor, NEW.amount_minor,
       OLD.released_at IS NULL AND NEW.released_at IS NOT NULL AND NEW.amount_minor > 0)
    ) AS x(kind, amount, frozen, available, happened) WHERE x.happened LOOP
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    VALUES (NEW.tenant_id, v_user, NEW.leader_id, e.kind, NEW.currency, e.amount, e.frozen, e.available,
            NEW.id, NEW.order_id);
    IF e.kind = 'CLAWBACK' THEN
      INSERT INTO outbox_event (tenant_id, id, event, subject_type, subject_id, payload)
      VALUES (NEW.tenant_id, gen_random_uuid(), 'COMMISSION_CLAWED_BACK', 'leader', NEW.leader_id,
              jsonb_build_object(
                'leaderId', NEW.leader_id, 'orderId', NEW.order_id, 'userIds', jsonb_build_array(v_user),
                'amount', jsonb_build_object('amount', round(-e.amount::numeric / 10::numeric ^ v_exp, v_exp)::text,
                                             'currency', NEW.currency)));
    END IF;
  END LOOP;
  RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS commission_entry_ledger_insert ON commission_entry;
CREATE TRIGGER commission_entry_ledger_insert AFTER INSERT ON commission_entry FOR EACH ROW
  EXECUTE FUNCTION ledger_commission_earned_row();
DROP TRIGGER IF EXISTS commission_entry_ledger_update ON commission_entry;
CREATE TRIGGER commission_entry_ledger_update AFTER UPDATE ON commission_entry FOR EACH ROW
  EXECUTE FUNCTION ledger_commission_changed_row();
CREATE OR REPLACE FUNCTION ledger_distribution_changed_row() RETURNS trigger
LANGUAGE plpgsql AS $fn$
DECLARE
  e record;
  v_part bigint := OLD.reversed_minor - NEW.reversed_minor;
BEGIN
  FOR e IN SELECT * FROM (VALUES
      ('DISTRIBUTION_EARNED', NEW.amount_minor, NEW.amount_minor, 0::bigint,
       OLD.earned_at IS NULL AND NEW.earned_at IS NOT NULL AND NEW.amount_minor > 0),
      ('DISTRIBUTION_REVERSED', v_part, v_part, 0::bigint,
       OLD.earned_at IS NOT NULL AND OLD.released_at IS NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('DISTRIBUTION_CLAWBACK', v_part, 0::bigint, v_part,
       OLD.released_at IS NOT NULL AND NEW.reversed_minor > OLD.reversed_minor),
      ('DISTRIBUTION_RELEASED', NEW.amount_minor, -NEW.amount_minor, NEW.amount_minor,
       OLD.released_at IS NULL AND NEW.released_at IS NOT NULL AND NEW.amount_minor > 0)
    ) AS x(kind, amount, frozen, available, happened) WHERE x.happened LOOP
    INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, frozen_minor,
                              available_minor, commission_id, order_id)
    VALUES (NEW.tenant_id, NEW.beneficiary_id, NULL, e.kind, NEW.currency, e.amount, e.frozen, e.available,
            NEW.id, NEW.order_id);
  END LOOP;
  RETURN NULL;
END
$fn$;
DROP TRIGGER IF EXISTS distribution_commission_ledger_update ON distribution_commission;
CREATE TRIGGER distribution_commission_ledger_update AFTER UPDATE ON distribution_commission FOR EACH ROW
  EXECUTE FUNCTION ledger_distribution_changed_row();
-- Functions that plan their statements once for every call (plan_cache_mode = force_generic_plan,
-- the ordering hot path on one node) plan them per call here: Citus routes a join to the tenant's
-- shards only with the tenant's value in the plan, not a parameter.
DO $$ DECLARE f record; BEGIN
  FOR f IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace
             AND 'plan_cache_mode=force_generic_plan' = ANY(p.proconfig) LOOP
    EXECUTE format('ALTER FUNCTION %s SET plan_cache_mode = force_custom_plan', f.signature);
  END LOOP;
END $$;
-- Any other transition-table trigger on a distributed table would fail the same way: refuse.
DO $$ DECLARE bad text; BEGIN
  SELECT string_agg(t.tgrelid::regclass || '.' || t.tgname, ', ') INTO bad FROM pg_trigger t
   WHERE NOT t.tgisinternal AND (t.tgnewtable IS NOT NULL OR t.tgoldtable IS NOT NULL)
     AND t.tgrelid IN (SELECT logicalrelid FROM pg_dist_partition WHERE (partmethod = 'h' OR repmodel = 't'));
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'triggers with transition tables cannot run on Citus shards: %', bad;
  END IF;
END $$;

-- Every function on every node (policies, triggers and checks call them there). Those
-- whose first argument is the tenant (p_tenant) are distributed by it, co-located with the
-- tables: a plain `SELECT f(tenant, ...)` call (or `SELECT ... FROM f(tenant, ...)`) is then
-- run on the tenant's worker. The order placements are delegated there inside a transaction
-- too (force_delegation): the orderPlace paths with extras place within their own transaction,
-- and on the coordinator the function's INSERT ... SELECT would be copied into the shards,
-- which row-level security refuses; every statement in them is of the caller's tenant.
DO $$ DECLARE f record; BEGIN
  FOR f IN SELECT p.oid::regprocedure AS signature, p.proargnames[1] = 'p_tenant' AS by_tenant,
                  p.proname = ANY(ARRAY['place_order', 'place_order_group']) AS forced
           FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e')
  LOOP
    CONTINUE WHEN EXISTS (SELECT FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass
                          AND o.objid = f.signature::oid AND o.distribution_argument_index IS NOT NULL
                          AND o.force_delegation IS NOT DISTINCT FROM (f.forced OR NULL));
    IF f.forced THEN
      PERFORM create_distributed_function(f.signature, 'p_tenant',
                                          colocate_with => 'number_counter', force_delegation => true);
    ELSIF f.by_tenant THEN
      PERFORM create_distributed_function(f.signature, 'p_tenant',
                                          colocate_with => 'number_counter');
    ELSIF NOT EXISTS (SELECT FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass
                      AND o.objid = f.signature::oid) THEN
      PERFORM create_distributed_function(f.signature);
    END IF;
  END LOOP;
END $$;
