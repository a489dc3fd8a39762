-- What the customer paid for `refunding` more units of a line of `quantity` units, `refunded`
-- of them refunded before: their list price less their share of the line's discount. The shares
-- are differences of floor(discount x units / quantity), so a line refunded in parts gives back
-- exactly its amount less its discount.
CREATE OR REPLACE FUNCTION line_paid_share(p_unit_price bigint, p_quantity int, p_discount bigint,
                                           p_refunded int, p_refunding int)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $fn$
  SELECT p_refunding * p_unit_price
         - (p_discount * (p_refunded + p_refunding) / p_quantity - p_discount * p_refunded / p_quantity)
$fn$;
