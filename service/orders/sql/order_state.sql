-- An order's status as read: PAID or PLACED in a CLOSED or COMPLETED batch is CONFIRMED.
-- service.orders.models.order_state is the same rule in Python (tests/test_sql_files.py proves them equal).
-- Last changed by migration 0010; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION order_state(order_status text, batch_status text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN order_status IN ('PAID', 'PLACED') AND batch_status IN ('CLOSED', 'COMPLETED')
                  THEN 'CONFIRMED' ELSE order_status END $$
