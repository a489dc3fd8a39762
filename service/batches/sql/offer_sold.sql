-- What an offer has sold, for SQL that reads offers (`offer_sold(o)`; a computed column for
-- GraphQL-over-SQL tools).
-- Last changed by migration 0011; a change needs a migration carrying this whole text.
CREATE OR REPLACE FUNCTION offer_sold(o offer) RETURNS integer
LANGUAGE sql STABLE PARALLEL SAFE AS $$
  SELECT coalesce(sum(s.sold), 0)::integer FROM offer_stock_slot s WHERE s.tenant_id = o.tenant_id AND s.offer_id = o.id
$$
