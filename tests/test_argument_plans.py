"""The planned argument conversion gives what strawberry's own gives, for every argument of every
field in the schema, with all input fields given, only the required ones, and explicit nulls."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
)
from strawberry.schema import schema_converter
from strawberry.types.arguments import convert_arguments as strawberry_convert

from service.schema import build_schema
from service.schema.arguments import convert_arguments as planned_convert

SCHEMA = build_schema(introspection=True)
_counter = itertools.count()


def _scalar(t: GraphQLScalarType) -> Any:
    n = next(_counter)
    return {"Int": n, "Float": n + 0.5, "Boolean": n % 2 == 0}.get(t.name, f"VmFsdWU6{n}")


def _sample(t: Any, variant: str, depth: int = 0) -> Any:
    if isinstance(t, GraphQLNonNull):
        return _sample(t.of_type, variant, depth)
    if isinstance(t, GraphQLList):
        return [_sample(t.of_type, variant, depth + 1) for _ in range(2)]
    if isinstance(t, GraphQLEnumType):
        return list(t.values.values())[next(_counter) % len(t.values)].value
    if isinstance(t, GraphQLScalarType):
        return _scalar(t)
    assert isinstance(t, GraphQLInputObjectType)
    value: dict[str, Any] = {}
    for name, field in t.fields.items():
        required = isinstance(field.type, GraphQLNonNull)
        if required or (variant == "all" and depth < 3):
            value[name] = _sample(field.type, variant, depth + 1)
        elif variant == "nulls":
            value[name] = None
    return value


def _fields() -> list[tuple[str, Any, Any]]:
    found = []
    for root in ("Query", "Mutation"):
        gql_type = SCHEMA._schema.get_type(root)
        definition = SCHEMA.get_type_by_name(root)
        for field in definition.fields:
            if field.arguments:
                name = SCHEMA.config.name_converter.from_field(field)
                found.append((f"{root}.{name}", field, gql_type.fields[name]))
    return found


FIELDS = _fields()


def test_the_schema_has_input_objects_to_plan() -> None:
    with_inputs = [
        n
        for n, _, g in FIELDS
        if any(isinstance(getattr(a.type, "of_type", a.type), GraphQLInputObjectType) for a in g.args.values())
    ]
    assert len(FIELDS) > 30 and len(with_inputs) > 10


@pytest.mark.parametrize("variant", ["all", "required", "nulls"])
def test_planned_conversion_equals_strawberrys(variant: str) -> None:
    registry = SCHEMA.schema_converter.scalar_registry
    compared = 0
    for label, field, gql_field in FIELDS:
        kwargs = {
            name: _sample(arg.type, variant)
            for name, arg in gql_field.args.items()
            if variant == "all" or isinstance(arg.type, GraphQLNonNull)
        }
        if variant == "nulls":
            kwargs.update(
                {name: None for name, arg in gql_field.args.items() if not isinstance(arg.type, GraphQLNonNull)}
            )
        expected = strawberry_convert(kwargs, field.arguments, scalar_registry=registry, config=SCHEMA.config)
        got = planned_convert(kwargs, field.arguments, scalar_registry=registry, config=SCHEMA.config)
        assert got == expected, label
        assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in expected.items()}, label
        compared += 1
    assert compared == len(FIELDS)


def test_lists_are_built_anew() -> None:
    """graphql-core gives every request the same default list: a resolver changing its argument
    must not change the next request's."""
    from service.schema.orders import OrderPlaceInput

    registry = SCHEMA.schema_converter.scalar_registry
    mutation = SCHEMA.get_type_by_name("Mutation")
    by_name = {f.python_name: f for f in mutation.fields}
    line_ids = ["T3JkZXJMaW5lOjE=", "T3JkZXJMaW5lOjI="]
    got = planned_convert(
        {"id": "x", "lineIds": line_ids, "reason": "r"},
        by_name["order_refund"].arguments,
        scalar_registry=registry,
        config=SCHEMA.config,
    )
    assert got["line_ids"] == line_ids and got["line_ids"] is not line_ids
    lines = [{"offerId": "T2ZmZXI6MQ==", "quantity": 2}]
    value = {"input": {"batchId": "b", "pickupPointId": "p", "lines": lines, "idempotencyKey": "k"}}
    got = planned_convert(value, by_name["order_place"].arguments, scalar_registry=registry, config=SCHEMA.config)
    assert isinstance(got["input"], OrderPlaceInput)
    assert got["input"].lines is not lines and got["input"].lines[0].quantity == 2


def test_installed_in_the_schema_converter() -> None:
    assert schema_converter.convert_arguments is planned_convert
