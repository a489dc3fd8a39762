"""Every element of the public schema carries a description: the reference at /docs/reference/ is
generated from them, so an element without one would be an undocumented part of the contract."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
)
from graphql.type import specified_scalar_types

from service.schema import build_schema


def undescribed(gql: GraphQLSchema) -> list[str]:
    """Every type, field, argument, input field and enum value without a description."""
    missing: list[str] = []

    def check(path: str, description: str | None) -> None:
        if not (description or "").strip():
            missing.append(path)

    for name, t in sorted(gql.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        check(name, t.description)
        if isinstance(t, (GraphQLObjectType, GraphQLInterfaceType)):
            for fname, f in t.fields.items():
                check(f"{name}.{fname}", f.description)
                for aname, a in f.args.items():
                    check(f"{name}.{fname}({aname})", a.description)
        elif isinstance(t, GraphQLInputObjectType):
            for fname, f in t.fields.items():
                check(f"{name}.{fname}", f.description)
        elif isinstance(t, GraphQLEnumType):
            for vname, v in t.values.items():
                check(f"{name}.{vname}", v.description)
        else:
            assert isinstance(t, (GraphQLScalarType, GraphQLUnionType)), name
    return missing


def test_every_schema_element_has_a_description() -> None:
    missing = undescribed(build_schema(introspection=True)._schema)
    assert missing == [], f"{len(missing)} schema elements without a description:\n" + "\n".join(missing)


def test_the_walk_finds_an_undescribed_element() -> None:
    # The check itself must be able to fail: a schema with one bare field is reported.
    from graphql import build_schema as build_sdl

    bare = build_sdl('"The root." type Query { "Described." a: Int b(x: Int): Int }')
    assert undescribed(bare) == ["Query.b", "Query.b(x)"]
