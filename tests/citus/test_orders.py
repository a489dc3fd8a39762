"""Orders on the cluster through the HTTP API against the coordinator."""

from __future__ import annotations

from tests.ordering_fixtures import (
    bulk_customers,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
)

PLACE = """
mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id status } errors { code message } } }"""


def test_a_plain_order(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    tenant = make_tenant(paymentMode="PAY_AT_PICKUP")
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=5)])
    ((_, token),) = bulk_customers(owner_db, tenant, 1)
    placed = gql.data(PLACE, place_input(batch, world, [(0, 2)]), token=token)["orderPlace"]
    assert placed["errors"] == [], placed
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (2, 5, 2)
