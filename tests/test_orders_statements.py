"""N+1 guards: the statements behind a page of batches or orders do not grow with the page."""

from __future__ import annotations

from tests.ordering_fixtures import (
    ORDER_PLACE,
    bulk_customers,
    create_batch,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
)

BATCHES = """
query($first: Int) {
  batches(first: $first) { edges { node { id title offers {
    id price { amount } remainingStock product { id name supplier { id } } batch { id }
  } } } }
}"""
ORDERS = """
query($first: Int) {
  orders(first: $first) { edges { node {
    id number total { amount } batch { id title } pickupPoint { id name }
    lines { productName quantity offer { id soldQuantity product { name } } }
  } } }
}"""


def test_a_page_of_batches_with_offers_and_products(gql, tenant, owner_db, sql_statements):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    for _ in range(12):
        create_batch(gql, world, [offer_input(world, i) for i in range(3)])
    counts = {}
    for first in (3, 12):
        sql_statements.clear()
        edges = gql.data(BATCHES, {"first": first}, token=tenant.admin_token)["batches"]["edges"]
        assert len(edges) == first and all(len(e["node"]["offers"]) == 3 for e in edges)
        counts[first] = len(sql_statements)
    assert counts[3] == counts[12], counts


def test_a_page_of_orders_with_lines_offers_and_points(gql, tenant, owner_db, sql_statements):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, i) for i in range(3)])
    (_, token), = bulk_customers(owner_db, tenant, 1)
    for _ in range(12):
        got = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1), (1, 2), (2, 1)]), token=token)
        assert got["orderPlace"]["errors"] == []
    counts = {}
    for first in (3, 12):
        sql_statements.clear()
        edges = gql.data(ORDERS, {"first": first}, token=token)["orders"]["edges"]
        assert len(edges) == first and all(len(e["node"]["lines"]) == 3 for e in edges)
        counts[first] = len(sql_statements)
    assert counts[3] == counts[12], counts
