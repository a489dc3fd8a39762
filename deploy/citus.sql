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
SELECT create_reference_table('tenant') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'tenant'::regclass AND (partmethod = 'h' OR repmodel = 't'));

-- Tenant tables, referenced tables first, all co-located with the first one: every row
-- of a tenant lives on the same node, so every query and foreign key of one tenant is local.
SELECT create_distributed_table('number_counter', 'tenant_id') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'number_counter'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('outbox_event', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'outbox_event'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('supplier', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'supplier'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('app_user', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'app_user'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('api_key', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'api_key'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('batch', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'batch'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('batch_close', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'batch_close'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('leader', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'leader'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('community_group', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'community_group'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('group_member', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'group_member'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('ledger_entry', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'ledger_entry'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('notification', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'notification'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('password_reset', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'password_reset'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('pickup_point', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'pickup_point'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('customer_order', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'customer_order'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('commission_entry', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'commission_entry'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('distribution_commission', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'distribution_commission'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('distribution_commission_line', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'distribution_commission_line'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('order_referral', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'order_referral'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('pick_list', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'pick_list'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('product', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'product'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('offer', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'offer'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('group_buy', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'group_buy'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('group_buy_member', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'group_buy_member'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('offer_customer_quantity', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'offer_customer_quantity'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('offer_distribution', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'offer_distribution'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('offer_stock_slot', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'offer_stock_slot'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('order_line', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'order_line'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('after_sales_request', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'after_sales_request'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('purchase_order', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'purchase_order'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('delivery_line', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'delivery_line'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('purchase_order_line', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'purchase_order_line'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('refund', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'refund'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('share_link', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'share_link'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('referral_binding', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'referral_binding'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('share_visit', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'share_visit'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('webhook_subscription', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'webhook_subscription'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('delivery', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'delivery'::regclass AND (partmethod = 'h' OR repmodel = 't'));
SELECT create_distributed_table('withdrawal', 'tenant_id', colocate_with => 'number_counter') WHERE NOT EXISTS (SELECT FROM pg_dist_partition WHERE logicalrelid = 'withdrawal'::regclass AND (partmethod = 'h' OR repmodel = 't'));

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
-- tables: a plain `SELECT f(tenant, ...)` call is then run on the tenant's worker.
DO $$ DECLARE f record; BEGIN
  FOR f IN SELECT p.oid::regprocedure AS signature, p.proargnames[1] = 'p_tenant' AS by_tenant
           FROM pg_proc p
           WHERE p.pronamespace = 'public'::regnamespace
             AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass
                             AND d.objid = p.oid AND d.deptype = 'e')
             AND NOT EXISTS (SELECT FROM pg_dist_object o WHERE o.classid = 'pg_proc'::regclass
                             AND o.objid = p.oid AND o.distribution_argument_index IS NOT NULL)
  LOOP
    IF f.by_tenant THEN
      PERFORM create_distributed_function(f.signature, 'p_tenant',
                                          colocate_with => 'number_counter');
    ELSE
      PERFORM create_distributed_function(f.signature);
    END IF;
  END LOOP;
END $$;
