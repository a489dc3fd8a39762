"""Suppliers and products over GraphQL: admins manage them, a supplier's staff see their own,
costs stay private, invalid input changes nothing."""

from __future__ import annotations

from service import global_id
from tests.conftest import sign_in

SUPPLIER_CREATE = """
mutation($input: SupplierInput!) {
  supplierCreate(input: $input) { supplier { id name contactEmail } errors { code field message } }
}"""
SUPPLIER_ACCOUNT_CREATE = """
mutation($input: SupplierAccountInput!) {
  supplierAccountCreate(input: $input) { supplier { id name } errors { code field message } }
}"""
PRODUCT_CREATE = """
mutation($input: ProductInput!) {
  productCreate(input: $input) {
    product { id name unit description imageUrl active cost { amount currency } supplier { id name } }
    errors { code field message }
  }
}"""
PRODUCT_UPDATE = """
mutation($id: ID!, $input: ProductInput!) {
  productUpdate(id: $id, input: $input) {
    product { id name unit active cost { amount currency } supplier { id } }
    errors { code field message }
  }
}"""
PRODUCTS = """
query($search: String, $first: Int, $after: String) {
  products(search: $search, first: $first, after: $after) {
    edges { cursor node { id name cost { amount } supplier { id name } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
SUPPLIERS = """
query($first: Int, $after: String) {
  suppliers(first: $first, after: $after) {
    edges { node { id name contactEmail
      products(first: 2) { edges { node { name } } pageInfo { hasNextPage } } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Product { name cost { amount } } ... on Supplier { name contactEmail } } }"""
ME_SUPPLIER = "{ me { roles supplier { id name } leader { id } } }"


def create_supplier(gql, tenant, name="绿源农场", email="farm@example.com") -> str:  # type: ignore[no-untyped-def]
    payload = gql.data(
        SUPPLIER_CREATE, {"input": {"name": name, "contactEmail": email}}, token=tenant.admin_token
    )["supplierCreate"]
    assert payload["errors"] == [], payload
    return payload["supplier"]["id"]


def create_product(gql, tenant, supplier_id, name="有机菠菜", cost="3.50", **extra) -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(
        PRODUCT_CREATE,
        {"input": {"supplierId": supplier_id, "name": name, "unit": "500g 袋", "cost": cost, **extra}},
        token=tenant.admin_token,
    )["productCreate"]
    assert payload["errors"] == [], payload
    return payload["product"]  # type: ignore[no-any-return]


def supplier_login(gql, tenant, supplier_id, email) -> str:  # type: ignore[no-untyped-def]
    payload = gql.data(
        SUPPLIER_ACCOUNT_CREATE,
        {"input": {"supplierId": supplier_id, "email": email, "password": "supplier-pw-1"}},
        token=tenant.admin_token,
    )["supplierAccountCreate"]
    assert payload["errors"] == [], payload
    return sign_in(gql, tenant.slug, email, "supplier-pw-1")


def _count(owner_db, table, tenant) -> int:  # type: ignore[no-untyped-def]
    return owner_db.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[
        0
    ]


def test_admin_creates_supplier_and_product(gql, tenant):  # type: ignore[no-untyped-def]
    sid = create_supplier(gql, tenant)
    product = create_product(gql, tenant, sid, description="当天采摘", imageUrl="https://img.example/s.jpg")
    assert product["cost"] == {"amount": "3.50", "currency": "CNY"}
    assert product["supplier"] == {"id": sid, "name": "绿源农场"}
    assert product["active"] is True and product["unit"] == "500g 袋"
    updated = gql.data(
        PRODUCT_UPDATE,
        {
            "id": product["id"],
            "input": {"supplierId": sid, "name": "菠菜", "unit": "1kg", "cost": "6", "active": False},
        },
        token=tenant.admin_token,
    )["productUpdate"]
    assert updated["errors"] == []
    assert updated["product"]["name"] == "菠菜" and updated["product"]["active"] is False
    assert updated["product"]["cost"]["amount"] == "6.00"


def test_products_search_and_keyset_pages(gql, tenant):  # type: ignore[no-untyped-def]
    sid = create_supplier(gql, tenant)
    for i in range(5):
        create_product(gql, tenant, sid, name=f"苹果 {i}")
    create_product(gql, tenant, sid, name="100%_橙汁")
    page1 = gql.data(PRODUCTS, {"search": "苹果", "first": 2}, token=tenant.admin_token)["products"]
    assert [e["node"]["name"] for e in page1["edges"]] == ["苹果 0", "苹果 1"]
    assert page1["pageInfo"]["hasNextPage"] is True
    # An insert between pages does not shift the next page (keyset, not OFFSET).
    create_product(gql, tenant, sid, name="苹果 new")
    page2 = gql.data(
        PRODUCTS,
        {"search": "苹果", "first": 2, "after": page1["pageInfo"]["endCursor"]},
        token=tenant.admin_token,
    )["products"]
    assert [e["node"]["name"] for e in page2["edges"]] == ["苹果 2", "苹果 3"]
    # LIKE wildcards in the search are literal characters.
    assert [
        e["node"]["name"]
        for e in gql.data(PRODUCTS, {"search": "%_"}, token=tenant.admin_token)["products"]["edges"]
    ] == ["100%_橙汁"]


def test_page_size_is_capped(gql, tenant):  # type: ignore[no-untyped-def]
    body = gql(PRODUCTS, {"first": 101}, token=tenant.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "PAGE_SIZE_EXCEEDED"
    body = gql(PRODUCTS, {"first": 10, "after": "garbage"}, token=tenant.admin_token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID"


def test_supplier_account_sees_own_products_and_cost_only(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    mine, other = create_supplier(gql, tenant, "Mine"), create_supplier(gql, tenant, "Other")
    own_product = create_product(gql, tenant, mine, name="own")
    other_product = create_product(gql, tenant, other, name="theirs")
    token = supplier_login(gql, tenant, mine, "staff@mine.example")
    me = gql.data(ME_SUPPLIER, token=token)["me"]
    assert (
        set(me["roles"]) == {"SUPPLIER"}
        and me["supplier"] == {"id": mine, "name": "Mine"}
        and me["leader"] is None
    )
    listed = gql.data(PRODUCTS, token=token)["products"]["edges"]
    assert [(e["node"]["name"], e["node"]["cost"]) for e in listed] == [("own", {"amount": "3.50"})]
    # Nothing of the other supplier through node() either.
    assert gql.data(NODE, {"id": other_product["id"]}, token=token)["node"] is None
    assert gql.data(NODE, {"id": other}, token=token)["node"] is None
    assert gql.data(NODE, {"id": own_product["id"]}, token=token)["node"]["cost"] == {"amount": "3.50"}
    assert gql.data(NODE, {"id": mine}, token=token)["node"]["contactEmail"] == "farm@example.com"
    # A customer sees products (offers show them) but never their cost or the supplier's contact.
    customer = make_customer(tenant)
    node = gql.data(NODE, {"id": own_product["id"]}, token=customer.token)["node"]
    assert node["name"] == "own" and node["cost"] is None
    assert gql.data(NODE, {"id": mine}, token=customer.token)["node"] == {
        "__typename": "Supplier",
        "id": mine,
        "name": "Mine",
        "contactEmail": None,
    }
    body = gql(PRODUCTS, token=customer.token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    body = gql(SUPPLIERS, token=token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_suppliers_with_their_products(gql, tenant):  # type: ignore[no-untyped-def]
    a, b = create_supplier(gql, tenant, "A"), create_supplier(gql, tenant, "B")
    for i in range(3):
        create_product(gql, tenant, a, name=f"a{i}")
    create_product(gql, tenant, b, name="b0")
    edges = gql.data(SUPPLIERS, token=tenant.admin_token)["suppliers"]["edges"]
    got = {
        e["node"]["name"]: (
            [p["node"]["name"] for p in e["node"]["products"]["edges"]],
            e["node"]["products"]["pageInfo"]["hasNextPage"],
        )
        for e in edges
    }
    assert got == {"A": (["a0", "a1"], True), "B": (["b0"], False)}


def test_invalid_input_changes_nothing(gql, tenant, make_tenant, owner_db):  # type: ignore[no-untyped-def]
    sid = create_supplier(gql, tenant)
    product = create_product(gql, tenant, sid)
    before = (
        _count(owner_db, "supplier", tenant),
        _count(owner_db, "product", tenant),
        _count(owner_db, "app_user", tenant),
    )
    bad = gql.data(
        SUPPLIER_CREATE, {"input": {"name": "  ", "contactEmail": "nope"}}, token=tenant.admin_token
    )["supplierCreate"]
    assert {(e["code"], tuple(e["field"])) for e in bad["errors"]} == {
        ("INVALID", ("input", "name",)),
        ("INVALID", ("input", "contactEmail",)),
    }
    too_long = gql.data(SUPPLIER_CREATE, {"input": {"name": "x" * 201}}, token=tenant.admin_token)[
        "supplierCreate"
    ]
    assert [(e["code"], e["field"]) for e in too_long["errors"]] == [("INVALID", ["input", "name"])]
    bad = gql.data(
        PRODUCT_CREATE,
        {
            "input": {
                "supplierId": sid,
                "name": "",
                "unit": "u" * 51,
                "cost": "-1",
                "imageUrl": "javascript:alert(1)",
            }
        },
        token=tenant.admin_token,
    )["productCreate"]
    assert {(e["code"], tuple(e["field"])) for e in bad["errors"]} == {
        ("INVALID", ("input", "name",)),
        ("INVALID", ("input", "unit",)),
        ("INVALID", ("input", "cost",)),
        ("INVALID", ("input", "imageUrl",)),
    }
    bad = gql.data(
        PRODUCT_CREATE,
        {"input": {"supplierId": sid, "name": "x", "unit": "x", "cost": "1.234"}},
        token=tenant.admin_token,
    )["productCreate"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "cost"])]
    # Unknown, malformed, wrong-type and other tenants' IDs: NOT_FOUND on the id field.
    other = make_tenant()
    foreign_supplier = create_supplier(gql, other)
    for wrong in (
        foreign_supplier,
        global_id.encode("Supplier", global_id.decode(product["id"])[1]),
        product["id"],
        "not-an-id",
    ):
        bad = gql.data(
            PRODUCT_CREATE,
            {"input": {"supplierId": wrong, "name": "x", "unit": "x", "cost": "1"}},
            token=tenant.admin_token,
        )["productCreate"]
        assert [(e["code"], e["field"]) for e in bad["errors"]] == [("NOT_FOUND", ["input", "supplierId"])], wrong
        bad = gql.data(
            SUPPLIER_ACCOUNT_CREATE,
            {"input": {"supplierId": wrong, "email": "s@x.example", "password": "password-1"}},
            token=tenant.admin_token,
        )["supplierAccountCreate"]
        assert [(e["code"], e["field"]) for e in bad["errors"]] == [("NOT_FOUND", ["input", "supplierId"])], wrong
    for wrong in (sid, "not-an-id", create_product(gql, other, foreign_supplier)["id"]):
        bad = gql.data(
            PRODUCT_UPDATE,
            {"id": wrong, "input": {"supplierId": sid, "name": "changed", "unit": "x", "cost": "1"}},
            token=tenant.admin_token,
        )["productUpdate"]
        assert [(e["code"], e["field"]) for e in bad["errors"]] == [("NOT_FOUND", ["id"])], wrong
    bad = gql.data(
        PRODUCT_UPDATE,
        {"id": product["id"], "input": {"supplierId": sid, "name": "changed", "unit": "", "cost": "1"}},
        token=tenant.admin_token,
    )["productUpdate"]
    assert [(e["code"], e["field"]) for e in bad["errors"]] == [("INVALID", ["input", "unit"])]
    bad = gql.data(
        SUPPLIER_ACCOUNT_CREATE,
        {"input": {"supplierId": sid, "email": "bad", "password": "short"}},
        token=tenant.admin_token,
    )["supplierAccountCreate"]
    assert {(e["code"], tuple(e["field"])) for e in bad["errors"]} == {
        ("INVALID", ("input", "email",)),
        ("INVALID", ("input", "password",)),
    }
    assert (
        _count(owner_db, "supplier", tenant),
        _count(owner_db, "product", tenant),
        _count(owner_db, "app_user", tenant),
    ) == before
    name = owner_db.execute(
        "SELECT name FROM product WHERE id = %s", (global_id.decode(product["id"])[1],)
    ).fetchone()[0]
    assert name == "有机菠菜"


def test_node_of_other_tenant_is_null(gql, make_tenant):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    sid = create_supplier(gql, a)
    pid = create_product(gql, a, sid)["id"]
    assert gql.data(NODE, {"id": pid}, token=a.admin_token)["node"]["name"] == "有机菠菜"
    for id in (sid, pid):
        assert gql.data(NODE, {"id": id}, token=b.admin_token)["node"] is None
        assert gql.data(NODE, {"id": id}, tenant=b.slug)["node"] is None
    # Another type's ID with this UUID is null too, never an error.
    wrong_type = global_id.encode("Leader", global_id.decode(pid)[1])
    assert gql.data(NODE, {"id": wrong_type}, token=a.admin_token)["node"] is None


PRODUCTS_WITH_SUPPLIERS = """
query($first: Int) {
  products(first: $first) {
    edges { node { name cost { amount }
      supplier { name contactEmail products(first: 3) { edges { node { name } } } } } }
  }
}"""


def test_statements_for_a_page_of_products_do_not_grow_with_it(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from tests.test_pickup_points import counted_statements

    owner_db.execute(
        """WITH s AS (INSERT INTO supplier (tenant_id, id, name, created_at)
                      SELECT %(t)s, gen_random_uuid(), 'supplier ' || i, clock_timestamp()
                      FROM generate_series(1, 30) i RETURNING id)
           INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active, created_at)
           SELECT %(t)s, gen_random_uuid(), s.id, 'product ' || n, 'box', 100 * n, true, clock_timestamp()
           FROM s, generate_series(1, 4) n""",
        {"t": tenant.uuid},
    )
    gql.data(PRODUCTS_WITH_SUPPLIERS, {"first": 1}, token=tenant.admin_token)  # warm the tenant cache
    counts = {}
    for first in (10, 100):
        with counted_statements() as seen:
            edges = gql.data(PRODUCTS_WITH_SUPPLIERS, {"first": first}, token=tenant.admin_token)["products"][
                "edges"
            ]
        assert len(edges) == first
        assert all(e["node"]["cost"] and len(e["node"]["supplier"]["products"]["edges"]) == 3 for e in edges)
        counts[first] = len(seen)
    print("SQL statements for products with suppliers and their products:", counts)
    # set tenant, the page, the suppliers, the suppliers' first products (the roles come with the
    # account check of every request, on a driver connection, not counted here)
    assert counts == {10: 4, 100: 4}, counts
