"""Orders on the cluster through the HTTP API against the coordinator."""

from __future__ import annotations

import uuid

import psycopg

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


def test_the_rate_counters_fallback_counts_on_the_cluster(make_tenant, app_db_url):  # type: ignore[no-untyped-def]
    """Migration 0034, run on the cluster after the move: rate_counter_take() (the rate limits
    when Redis is down) counts and refuses on the tenant's worker; before it, Citus refused its
    volatile clock in the DO UPDATE."""
    tenant = make_tenant()
    key = f"rl:test:{uuid.uuid4().hex}"
    with psycopg.connect(app_db_url, autocommit=True) as conn:
        waits = [conn.execute("SELECT rate_counter_take(%s, ARRAY[%s], ARRAY[2], 60)", (tenant.uuid, key)).fetchone()[0]
                 for _ in range(3)]
    assert waits[:2] == [0, 0] and 0 < waits[2] <= 60, waits


def test_an_api_key_signs_in_on_the_cluster(gql, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    """The key's first use of a period notes its time (an UPDATE of api_key): Citus refused the
    volatile clock there, so every API-key request failed on a cluster."""
    tenant = make_tenant()
    me = gql.data("{ me { roles } }", token=tenant.api_key)["me"]
    assert me["roles"] == ["TENANT_ADMIN"]
    used = owner_db.execute("SELECT count(*) FROM api_key WHERE tenant_id = %s AND last_used_at IS NOT NULL",
                            (tenant.uuid,)).fetchone()[0]
    assert used == 1
