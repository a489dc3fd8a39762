-- Distribute the groupbuy schema over a Citus cluster, by tenant.
-- GENERATED from the SQLAlchemy metadata (service/tables.py) by
--   .venv/bin/python -m tests.test_citus_readiness --write
-- and checked by tests/test_citus_readiness.py. Do not edit by hand.
--
-- Run once, as the owner, on the coordinator, after `groupbuy migrate` created the schema
-- there (deploy/README.md, "Moving to Citus"). Existing rows are copied into the shards.
-- alembic_version stays a local table on the coordinator.

CREATE EXTENSION IF NOT EXISTS citus;

-- The function the row-level security policies call must exist on every node.
SELECT create_distributed_function('current_tenant_id()');

-- Platform tables: one full copy on every node, joinable with every tenant table.
SELECT create_reference_table('tenant');

-- Tenant tables, referenced tables first, all co-located with the first one: every row
-- of a tenant lives on the same node, so every query and foreign key of one tenant is local.
SELECT create_distributed_table('number_counter', 'tenant_id');
SELECT create_distributed_table('outbox_event', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('supplier', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('app_user', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('api_key', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('batch', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('batch_close', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('leader', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('community_group', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('group_member', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('ledger_entry', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('notification', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('password_reset', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('pickup_point', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('customer_order', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('commission_entry', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('pick_list', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('product', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('offer', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('offer_customer_quantity', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('offer_stock_slot', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('order_line', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('purchase_order', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('purchase_order_line', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('refund', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('webhook_subscription', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('delivery', 'tenant_id', colocate_with => 'number_counter');
SELECT create_distributed_table('withdrawal', 'tenant_id', colocate_with => 'number_counter');
