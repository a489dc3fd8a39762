"""Who may call each root field is declared on its resolver (service.schema.access.requires).
This reads the declarations from the schema: a Query or Mutation field without one fails, and
every declared field is called, over HTTP, by each kind of principal: those the declaration
names get past it, everyone else gets FORBIDDEN and nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from service.schema.access import Caller
from tests.conftest import GraphQLClient
from tests.root_fields import (
    RootField,
    arguments,
    call,
    id_type,
    nonexistent_id,
    principals,
    root_fields,
    seeded_tenant,
)

FIELDS = root_fields()
CELLS = [(f, c) for f in FIELDS for c in Caller]


def test_every_root_field_declares_who_may_call_it() -> None:
    missing = [f"{f.kind} {f.name}" for f in FIELDS if f.permission is None]
    assert not missing, f"root fields without a declared permission: {missing}"
    assert len(FIELDS) > 40  # the schema was read, not an empty list


def test_a_declaration_names_at_least_one_caller() -> None:
    assert all(f.permission and f.permission.allowed for f in FIELDS)


@pytest.fixture(scope="module")
def callers(gql: GraphQLClient, platform_token: str, seeded_tenant_module: Any) -> dict[Caller, Any]:
    return principals(gql, platform_token, seeded_tenant_module)


@pytest.fixture(scope="module")
def seeded_tenant_module(gql: GraphQLClient, platform_token: str) -> Any:
    return seeded_tenant(gql, platform_token)


def _forbidden(body: dict[str, Any]) -> bool:
    """Refused by a declaration: a FORBIDDEN GraphQL error on the field, or a FORBIDDEN payload
    error on no particular argument."""
    if body.get("errors"):
        return any((e.get("extensions") or {}).get("code") == "FORBIDDEN" for e in body["errors"])
    result = (body.get("data") or {}).get("result")
    return isinstance(result, dict) and any(
        e["code"] == "FORBIDDEN" and e["field"] is None for e in result.get("errors") or []
    )


@pytest.mark.parametrize(("field", "caller"), CELLS, ids=[f"{f.name}-{c.value}" for f, c in CELLS])
def test_declared_callers_pass_and_others_are_refused(
    gql: GraphQLClient, callers: dict[Caller, Any], field: RootField, caller: Caller
) -> None:
    assert field.permission is not None
    principal = callers[caller]
    allowed = bool(principal.kinds & field.permission.allowed)
    document, variables = call(field, arguments(field, lambda name, path: nonexistent_id(id_type(name, field))))
    body = gql(document, variables, **principal.headers())
    assert "data" in body, body
    assert _forbidden(body) is not allowed, (sorted(field.permission.allowed), body)
    if not allowed and body.get("errors"):
        # Refused before anything ran: only the refusal, nothing computed.
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
        assert body["data"] is None or body["data"]["result"] is None, body
