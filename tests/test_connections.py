"""Lists (issue 28): every connection has `totalCount`; the main lists take `orderBy`, and a
page read `after` a cursor keeps the order it was read in."""

from __future__ import annotations

from graphql import GraphQLNonNull, GraphQLObjectType, get_named_type

from service.schema import build_schema

MAIN_LISTS = {"orders", "batches", "leaders", "products", "suppliers", "purchaseOrders"}
SUPPLIER_CREATE = "mutation($name: String!) { supplierCreate(input: {name: $name}) { errors { code } } }"
SUPPLIERS = """query($first: Int, $after: String, $order: ListOrder) {
  suppliers(first: $first, after: $after, orderBy: $order) {
    totalCount edges { node { name } } pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""


def test_every_connection_has_a_total_count_and_the_main_lists_an_order() -> None:
    schema = build_schema(introspection=True)._schema
    connections = [t for name, t in schema.type_map.items()
                   if isinstance(t, GraphQLObjectType) and name.endswith("Connection")]
    assert len(connections) >= 10
    for connection in connections:
        total = connection.fields.get("totalCount")
        assert total is not None, f"{connection.name} has no totalCount"
        assert isinstance(total.type, GraphQLNonNull) and get_named_type(total.type).name == "Int"
    query = schema.query_type
    assert query is not None
    for name in MAIN_LISTS:
        order_by = query.fields[name].args.get("orderBy")
        assert order_by is not None and get_named_type(order_by.type).name == "ListOrder", name


def test_total_count_and_both_directions_page_by_page(gql, make_tenant) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    names = [f"Supplier {i}" for i in range(5)]
    for name in names:
        assert gql.data(SUPPLIER_CREATE, {"name": name}, token=tenant.admin_token)["supplierCreate"]["errors"] == []

    def read(order: dict | None) -> tuple[list[str], list[int], list[bool]]:
        seen, totals, previous, after = [], [], [], None
        while True:
            page = gql.data(SUPPLIERS, {"first": 2, "after": after, "order": order}, token=tenant.admin_token)
            page = page["suppliers"]
            seen += [e["node"]["name"] for e in page["edges"]]
            totals.append(page["totalCount"])
            previous.append(page["pageInfo"]["hasPreviousPage"])
            if not page["pageInfo"]["hasNextPage"]:
                return seen, totals, previous
            after = page["pageInfo"]["endCursor"]

    oldest_first, totals, previous = read(None)
    assert oldest_first == names and totals == [5, 5, 5] and previous == [False, True, True]
    newest_first, totals, _ = read({"direction": "DESC"})
    assert newest_first == names[::-1] and totals == [5, 5, 5]
    assert read({"field": "CREATED_AT", "direction": "ASC"})[0] == names
    # The count follows the list's filters: another tenant's and archived suppliers are not in it.
    other = make_tenant()
    assert gql.data(SUPPLIERS, {"first": 1}, token=other.admin_token)["suppliers"]["totalCount"] == 0
