"""Payload error paths start at an argument of the mutation (issue 28): `["input", "name"]`,
`["input", "lines", "0", "quantity"]`, `["id"]` — never from inside the input object.

Schema-discovered: every mutation is called with input that is well-formed but wrong (empty
strings, negative numbers, IDs of nothing, one-element lists), as an admin and as a customer;
every error path it returns must start at one of its own arguments."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    get_named_type,
)

from service import global_id
from service.schema import build_schema
from service.schema.access import root_paths
from service.schema.common import UserError

SCALARS: dict[str, Any] = {
    "String": "", "Int": -1, "Float": -1.0, "Boolean": False, "Decimal": "-1",
    "DateTime": "2000-01-01T00:00:00+00:00", "Date": "2000-01-01", "JSON": {},
}


def wrong_value(type_: Any, depth: int = 0) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return wrong_value(type_.of_type, depth)
    if isinstance(type_, GraphQLList):
        return [wrong_value(type_.of_type, depth)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        if depth > 3:
            return None
        return {name: wrong_value(f.type, depth + 1) for name, f in type_.fields.items()}
    assert isinstance(type_, GraphQLScalarType)
    if type_.name == "ID":
        return global_id.encode("Order", uuid4())
    return SCALARS.get(type_.name, "")


def _type_ref(type_: Any) -> str:
    return str(type_)


def calls() -> list[tuple[str, frozenset[str], str, dict[str, Any]]]:
    """(mutation, its argument names, document, variables) for every mutation returning `errors`."""
    schema = build_schema(introspection=True)._schema
    assert schema.mutation_type is not None
    found = []
    for name, field in schema.mutation_type.fields.items():
        returned = get_named_type(field.type)
        if "errors" not in getattr(returned, "fields", {}):
            continue
        args = field.args
        params = ", ".join(f"${a}: {_type_ref(t.type)}" for a, t in args.items())
        passed = ", ".join(f"{a}: ${a}" for a in args)
        head = f"mutation({params})" if args else "mutation"
        call = f"{name}({passed})" if args else name
        document = f"{head} {{ {call} {{ errors {{ code field }} }} }}"
        found.append((name, frozenset(args), document, {a: wrong_value(t.type) for a, t in args.items()}))
    return found


def test_domain_paths_are_rooted_at_the_input_argument() -> None:
    errors = [UserError(field=["name"], code="INVALID", message=""),  # type: ignore[arg-type]
              UserError(field=["input", "url"], code="INVALID", message=""),  # type: ignore[arg-type]
              UserError(field=["id"], code="NOT_FOUND", message=""),  # type: ignore[arg-type]
              UserError(field=None, code="CONFLICT", message="")]  # type: ignore[arg-type]
    root_paths(errors, frozenset({"id", "input"}))
    assert [e.field for e in errors] == [["input", "name"], ["input", "url"], ["id"], None]


def test_every_error_path_starts_at_an_argument_of_its_mutation(gql, make_tenant, make_customer) -> None:  # type: ignore[no-untyped-def]
    tenant = make_tenant()
    customer = make_customer(tenant)
    wrong: list[str] = []
    checked = 0
    mutations = calls()
    assert len(mutations) > 40
    for name, arguments, document, variables in mutations:
        for token in (tenant.admin_token, customer.token):
            body = gql(document, variables, token=token)
            payload = (body.get("data") or {}).get(name)
            if payload is None:
                continue
            for error in payload["errors"]:
                if error["field"]:
                    checked += 1
                    if error["field"][0] not in arguments:
                        wrong.append(f"{name}: {error['field']} (arguments {sorted(arguments)})")
    assert wrong == [], "\n".join(wrong)
    assert checked >= 40, f"only {checked} paths came back: the wrong input is not reaching validation"
