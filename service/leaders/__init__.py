"""Group leaders, their pickup points and community groups.

What other domains call (all in `operations`, keyword-only, inside the caller's transaction):
- `orderable_pickup_point(session, tenant_id=, pickup_point_id=)`: the point if it takes orders
  now (active, leader APPROVED), its leader's row share-locked against a concurrent suspension.
- `attributed_leader(session, tenant_id=, user_id=, leader_id=) -> bool`: whether an order by this
  customer at this leader's point is attributed to the leader (the customer joined one of the
  leader's community groups); record it on the order when placed.
- `approved_leader_of_user(session, tenant_id=, user_id=)`: the caller's leader record if approved.
- `is_public(status, active)`: the rule for "takes orders and shows in public lists".
"""
