"""Who may do what with suppliers, products, leaders, pickup points and groups: every operation
of these domains against every role, table-driven. An operation of the schema's Mutation or
Query type that belongs to these domains but has no row here fails the test; so does a refused
call that changed anything."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from graphql import get_named_type
from strawberry.utils.str_converters import to_camel_case

from tests.conftest import CUSTOMER_REGISTER, TENANT_CREATE, GraphQLClient, sign_in, unique
from tests.test_catalog import PRODUCT_CREATE, SUPPLIER_ACCOUNT_CREATE, SUPPLIER_CREATE
from tests.test_leaders import (
    GROUP_CREATE,
    LEADER_APPLY,
    LEADER_APPROVE,
    PEOPLES_SQUARE,
    POINT_CREATE,
    point_input,
)

ROLES = ("anonymous", "customer", "leader", "supplier", "admin", "other_admin")
OWN_PAYLOADS = {
    "SupplierPayload",
    "ProductPayload",
    "LeaderPayload",
    "PickupPointPayload",
    "CommunityGroupPayload",
}
TABLES = ("supplier", "product", "app_user", "leader", "pickup_point", "community_group", "group_member")


@dataclass
class World:
    gql: GraphQLClient
    slug: str
    tenant_uuid: str
    tokens: dict[str, str | None]
    supplier_id: str
    product_id: str
    leader_id: str
    point_id: str
    invite_code: str

    def admin(self, query: str, variables: dict) -> dict:
        return self.gql.data(query, variables, token=self.tokens["admin"])

    def applicant(self) -> str:
        """A fresh PENDING leader application in tenant A."""
        token = self.gql.data(
            CUSTOMER_REGISTER,
            {
                "input": {
                    "displayName": "applicant",
                    "phone": f"+86137{uuid.uuid4().int % 10**8:08d}",
                    "password": "customer-pass-1",
                }
            },
            tenant=self.slug,
        )["customerRegister"]["token"]
        return self.gql.data(
            LEADER_APPLY, {"input": {"displayName": "申请人", "phone": "+8613700000000"}}, token=token
        )["leaderApply"]["leader"]["id"]


def _tenant(gql: GraphQLClient, platform_token: str) -> tuple[str, str, str]:
    slug = unique("perm")
    payload = gql.data(
        TENANT_CREATE,
        {
            "input": {
                "slug": slug,
                "name": slug,
                "adminEmail": f"a@{slug}.example",
                "adminPassword": "admin-password-1",
            }
        },
        token=platform_token,
    )["tenantCreate"]
    from service import global_id

    return (
        slug,
        str(global_id.decode(payload["tenant"]["id"])[1]),
        sign_in(gql, slug, f"a@{slug}.example", "admin-password-1"),
    )


@pytest.fixture(scope="module")
def world(gql: GraphQLClient, platform_token: str) -> World:
    slug, tenant_uuid, admin = _tenant(gql, platform_token)
    _, _, other_admin = _tenant(gql, platform_token)

    def customer(name: str) -> tuple[str, str]:
        phone = f"+86136{uuid.uuid4().int % 10**8:08d}"
        token = gql.data(
            CUSTOMER_REGISTER,
            {"input": {"displayName": name, "phone": phone, "password": "customer-pass-1"}},
            tenant=slug,
        )["customerRegister"]["token"]
        return token, phone

    supplier_id = gql.data(SUPPLIER_CREATE, {"input": {"name": "S"}}, token=admin)["supplierCreate"][
        "supplier"
    ]["id"]
    product_id = gql.data(
        PRODUCT_CREATE,
        {"input": {"supplierId": supplier_id, "name": "P", "unit": "u", "cost": "1"}},
        token=admin,
    )["productCreate"]["product"]["id"]
    gql.data(
        SUPPLIER_ACCOUNT_CREATE,
        {"input": {"supplierId": supplier_id, "email": f"s@{slug}.example", "password": "supplier-pw-1"}},
        token=admin,
    )
    supplier = sign_in(gql, slug, f"s@{slug}.example", "supplier-pw-1")
    leader, _ = customer("leader")
    leader_id = gql.data(
        LEADER_APPLY, {"input": {"displayName": "L", "phone": "+8613500000000"}}, token=leader
    )["leaderApply"]["leader"]["id"]
    gql.data(LEADER_APPROVE, {"id": leader_id}, token=admin)
    point_id = gql.data(POINT_CREATE, {"input": point_input()}, token=leader)["pickupPointCreate"][
        "pickupPoint"
    ]["id"]
    code = gql.data(GROUP_CREATE, {"input": {"name": "G"}}, token=leader)["communityGroupCreate"][
        "communityGroup"
    ]["inviteCode"]
    return World(
        gql=gql,
        slug=slug,
        tenant_uuid=tenant_uuid,
        tokens={
            "anonymous": None,
            "customer": customer("customer")[0],
            "leader": leader,
            "supplier": supplier,
            "admin": admin,
            "other_admin": other_admin,
        },
        supplier_id=supplier_id,
        product_id=product_id,
        leader_id=leader_id,
        point_id=point_id,
        invite_code=code,
    )


@dataclass
class Operation:
    document: str
    variables: Callable[[World], dict[str, Any]]
    # One outcome per role, in ROLES order: OK, or the error code the caller gets.
    outcomes: tuple[str, str, str, str, str, str]


def _mutation(name: str, signature: str, call: str) -> str:
    return f"mutation{signature} {{ result: {name}({call}) {{ errors {{ code field }} }} }}"


def _query(selection: str, signature: str = "") -> str:
    return f"query{signature} {{ result: {selection} }}"


F, N, A = "FORBIDDEN", "NOT_FOUND", "ALREADY_EXISTS"
OK = "OK"
POINT = {"name": "点", "address": "地址", "latitude": PEOPLES_SQUARE[0], "longitude": PEOPLES_SQUARE[1]}

MUTATIONS: dict[str, Operation] = {
    "supplierCreate": Operation(
        _mutation("supplierCreate", "($i: SupplierInput!)", "input: $i"),
        lambda w: {"i": {"name": "New supplier"}},
        (F, F, F, F, OK, OK),
    ),
    "supplierAccountCreate": Operation(
        _mutation("supplierAccountCreate", "($i: SupplierAccountInput!)", "input: $i"),
        lambda w: {
            "i": {
                "supplierId": w.supplier_id,
                "email": f"{uuid.uuid4().hex[:8]}@s.example",
                "password": "supplier-pw-2",
            }
        },
        (F, F, F, F, OK, N),
    ),
    "productCreate": Operation(
        _mutation("productCreate", "($i: ProductInput!)", "input: $i"),
        lambda w: {"i": {"supplierId": w.supplier_id, "name": "new", "unit": "u", "cost": "2"}},
        (F, F, F, F, OK, N),
    ),
    "productUpdate": Operation(
        _mutation("productUpdate", "($id: ID!, $i: ProductInput!)", "id: $id, input: $i"),
        lambda w: {
            "id": w.product_id,
            "i": {"supplierId": w.supplier_id, "name": "P", "unit": "u", "cost": "1"},
        },
        (F, F, F, F, OK, N),
    ),
    "leaderApply": Operation(
        _mutation("leaderApply", "($i: LeaderApplyInput!)", "input: $i"),
        lambda w: {"i": {"displayName": "me", "phone": "+8613400000000"}},
        (F, OK, A, F, F, F),
    ),
    "leaderApprove": Operation(
        _mutation("leaderApprove", "($id: ID!)", "id: $id"),
        lambda w: {"id": w.applicant()},
        (F, F, F, F, OK, N),
    ),
    "leaderReject": Operation(
        _mutation("leaderReject", "($id: ID!)", 'id: $id, reason: "no"'),
        lambda w: {"id": w.applicant()},
        (F, F, F, F, OK, N),
    ),
    "leaderSuspend": Operation(
        _mutation("leaderSuspend", "($id: ID!)", 'id: $id, reason: "no"'),
        lambda w: {"id": w.applicant()},
        (F, F, F, F, OK, N),
    ),
    "pickupPointCreate": Operation(
        _mutation("pickupPointCreate", "($i: PickupPointInput!)", "input: $i"),
        lambda w: {"i": {**POINT, "leaderId": w.leader_id}},
        (F, F, OK, F, OK, N),
    ),
    "pickupPointUpdate": Operation(
        _mutation("pickupPointUpdate", "($id: ID!, $i: PickupPointInput!)", "id: $id, input: $i"),
        lambda w: {"id": w.point_id, "i": {**POINT, "leaderId": w.leader_id}},
        (F, F, OK, F, OK, N),
    ),
    "communityGroupCreate": Operation(
        _mutation("communityGroupCreate", "($i: CommunityGroupInput!)", "input: $i"),
        lambda w: {"i": {"name": "another group"}},
        (F, F, OK, F, F, F),
    ),
    "communityGroupJoin": Operation(
        _mutation("communityGroupJoin", "($c: String!)", "inviteCode: $c"),
        lambda w: {"c": w.invite_code},
        (F, OK, OK, F, F, F),
    ),
}

QUERIES: dict[str, Operation] = {
    "suppliers": Operation(_query("suppliers { edges { node { id } } }"), lambda w: {}, (F, F, F, F, OK, OK)),
    "products": Operation(_query("products { edges { node { id } } }"), lambda w: {}, (F, F, F, OK, OK, OK)),
    "leaders": Operation(_query("leaders { edges { node { id } } }"), lambda w: {}, (F, F, F, F, OK, OK)),
    "pickupPoints": Operation(_query("pickupPoints { edges { node { id } } }"), lambda w: {}, (OK,) * 6),
    "nearestPickupPoints": Operation(
        _query("nearestPickupPoints(latitude: 31.23, longitude: 121.47) { distanceMeters }"),
        lambda w: {},
        (OK,) * 6,
    ),
}


def _fingerprint(owner_db, tenant_uuid: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {
        t: owner_db.execute(
            f"SELECT md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM {t} x "
            "WHERE tenant_id = %s",
            (tenant_uuid,),
        ).fetchone()[0]
        for t in TABLES
    }


def _outcome(body: dict) -> str:
    if body.get("errors"):
        return str(body["errors"][0]["extensions"]["code"])
    errors = (
        body["data"]["result"]["errors"]
        if isinstance(body["data"]["result"], dict) and "errors" in body["data"]["result"]
        else []
    )
    return errors[0]["code"] if errors else OK


CELLS = [
    (kind, name, role, i)
    for kind, table in (("mutation", MUTATIONS), ("query", QUERIES))
    for name in table
    for i, role in enumerate(ROLES)
]


@pytest.mark.parametrize(
    ("kind", "name", "role", "column"), CELLS, ids=[f"{kind}-{name}-{role}" for kind, name, role, _ in CELLS]
)
def test_permission(world: World, owner_db, kind: str, name: str, role: str, column: int) -> None:  # type: ignore[no-untyped-def]
    operation = (MUTATIONS if kind == "mutation" else QUERIES)[name]
    variables = operation.variables(world)
    token = world.tokens[role]
    before = _fingerprint(owner_db, world.tenant_uuid)
    body = world.gql(operation.document, variables, token=token, tenant=world.slug if token is None else None)
    expected = operation.outcomes[column]
    assert _outcome(body) == expected, body
    if expected != OK or role == "other_admin":
        # A refusal, or another tenant's admin, changes nothing in this tenant.
        assert _fingerprint(owner_db, world.tenant_uuid) == before


def test_every_operation_of_these_domains_has_a_row() -> None:
    from service.schema import schema
    from service.schema.catalog import CatalogMutation, CatalogQuery
    from service.schema.leaders import LeadersMutation, LeadersQuery

    def names(*classes: type) -> set[str]:
        return {to_camel_case(f.python_name) for c in classes for f in c.__strawberry_definition__.fields}

    graphql_schema = schema()._schema
    by_payload = {
        n
        for n, f in graphql_schema.mutation_type.fields.items()
        if get_named_type(f.type).name in OWN_PAYLOADS
    }
    assert set(MUTATIONS) == names(CatalogMutation, LeadersMutation) | by_payload
    assert set(QUERIES) == names(CatalogQuery, LeadersQuery)
    assert all(len(op.outcomes) == len(ROLES) for op in (*MUTATIONS.values(), *QUERIES.values()))


def test_the_refusals_are_the_declarations() -> None:
    """A FORBIDDEN cell above is exactly a caller the field's declaration does not name: the
    table cannot drift from what the resolvers declare (service.schema.access.requires)."""
    from service.schema.access import Caller
    from tests.root_fields import root_fields

    kinds = {
        "anonymous": {Caller.ANONYMOUS},
        "customer": {Caller.CUSTOMER},
        "leader": {Caller.CUSTOMER, Caller.LEADER},
        "supplier": {Caller.SUPPLIER},
        "admin": {Caller.ADMIN},
        "other_admin": {Caller.ADMIN},
    }
    declared = {f.name: f.permission for f in root_fields()}
    for name, operation in (*MUTATIONS.items(), *QUERIES.items()):
        permission = declared[name]
        assert permission is not None, name
        for role, outcome in zip(ROLES, operation.outcomes, strict=True):
            assert (outcome == F) is not bool(kinds[role] & permission.allowed), (name, role)
