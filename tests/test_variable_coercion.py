"""Variables coerced by the compiled functions (service.schema.coercion) come out exactly as
graphql-core's own coercion makes them — value, `Undefined` and the errors reported — for every
input type of a schema of odd cases and of the product's schema, on generated values."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    build_schema,
    get_named_type,
    graphql_sync,
    is_enum_type,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
)
from graphql.execution import values as graphql_values
from graphql.language.parser import MAX_NESTING_DEPTH
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.schema import build_schema as build_product_schema
from service.schema import coercion

SDL = """
directive @oneOf on INPUT_OBJECT
enum Colour { RED BLUE }
input Line { offerId: ID!, quantity: Int!, note: String }
input Order {
  batchId: ID!
  lines: [Line!]!
  tags: [String]
  grid: [[Int!]]
  colour: Colour = BLUE
  size: Int = 3
  ratio: Float
  flag: Boolean
  firstLine: Line = {offerId: "x", quantity: 1}
  extras: [Line] = []
}
input Pick @oneOf { id: ID, code: String, line: Line }
input Node { value: Int, children: [Node!], parent: Node }
input Deep { a: [[[[Int]]]] }
type Query {
  order(input: Order!): String
  pick(by: Pick!): String
  node(tree: Node): String
  deep(d: Deep): String
}
"""
ODD = build_schema(SDL)
NAMES = ["offerId", "quantity", "note", "batchId", "lines", "tags", "grid", "colour", "size", "ratio", "flag",
         "firstLine", "extras", "id", "code", "line", "value", "children", "parent", "a", "other", "input",
         "batchID", "pickupPointId", "idempotencyKey", "name", "first", "after"]


def _named(schema: Any) -> list[Any]:
    return [t for name, t in schema.type_map.items() if is_input_type(t) and not name.startswith("__")]


def _wrapped(type_: Any) -> list[Any]:
    """The type as a variable may declare it."""
    return [type_, GraphQLNonNull(type_), GraphQLList(type_), GraphQLList(GraphQLNonNull(type_)),
            GraphQLNonNull(GraphQLList(GraphQLNonNull(type_)))]


def _input_types(schema: Any) -> list[Any]:
    return [wrapped for type_ in _named(schema) for wrapped in _wrapped(type_)]


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**40), max_value=2**40), st.floats(allow_nan=False),
    st.text(max_size=6), st.sampled_from(["RED", "BLUE", "GREEN", "1", "2.5", "true", ""]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(NAMES), inner, max_size=6)),
    max_leaves=20,
)


def _shaped(type_: Any, depth: int = 0) -> st.SearchStrategy[Any]:
    """Values that mostly follow the type (so coercion gets far), with odd values at any level."""
    if depth > 5:
        return scalars
    if is_non_null_type(type_):
        return _shaped(type_.of_type, depth)
    odd = json_values if depth < 3 else scalars
    if is_list_type(type_):
        item = _shaped(type_.of_type, depth + 1)
        return st.one_of(st.lists(item, max_size=3), item, st.none(), odd)
    if is_input_object_type(type_):
        fields = {name: _shaped(field.type, depth + 1) for name, field in type_.fields.items()}
        shaped = st.fixed_dictionaries({}, optional=fields)
        extra = st.dictionaries(st.sampled_from(NAMES), scalars, max_size=1)
        return st.one_of(shaped, st.tuples(shaped, extra).map(lambda both: {**both[0], **both[1]}), st.none(), odd)
    if is_enum_type(type_):
        return st.one_of(st.sampled_from(list(type_.values)), scalars)
    return scalars


def _same(a: Any, b: Any) -> bool:
    if a is Undefined or b is Undefined:
        return a is b
    return type(a) is type(b) and a == b


# Not shrunk: a failure names the type and the value, and shrinking draws over many types is slow.
@pytest.mark.parametrize("schema", [ODD, build_product_schema()._schema], ids=["odd", "product"])
@settings(max_examples=100, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_same_value_as_graphql_core(schema: Any, data: st.DataObject) -> None:
    for named in _named(schema):
        type_ = data.draw(st.sampled_from(_wrapped(named)))
        value = data.draw(_shaped(type_), label=str(type_))
        ours = coercion.coercer(type_)(value)
        theirs = coercion._graphql_coerce(value, type_)
        assert _same(ours, theirs), (str(type_), value, ours, theirs)


@settings(max_examples=200, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(value=json_values)
def test_same_value_on_any_json(value: Any) -> None:
    for type_ in _input_types(ODD):
        assert _same(coercion.coercer(type_)(value), coercion._graphql_coerce(value, type_)), (str(type_), value)


def test_defaults_one_of_and_a_list_of_one() -> None:
    order = ODD.type_map["Order"]
    got = coercion.coercer(order)({"batchId": 7, "lines": {"offerId": "o", "quantity": 2}})
    assert got == {"batchId": "7", "lines": [{"offerId": "o", "quantity": 2}], "colour": "BLUE", "size": 3,
                   "firstLine": {"offerId": "x", "quantity": 1}, "extras": []}
    pick = coercion.coercer(ODD.type_map["Pick"])
    assert pick({"code": "a"}) == {"code": "a"}
    assert pick({"code": "a", "id": "b"}) is Undefined
    assert pick({"code": None}) is Undefined
    assert pick({}) is Undefined


def _errors(schema: Any, query: str, variables: dict[str, Any]) -> list[dict[str, Any]]:
    result = graphql_sync(schema, query, variable_values=variables)
    return [e.formatted for e in result.errors or []]


CASES = [
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [{"offerId": "o", "quantity": "2"}]}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [], "bogus": 1}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"lines": [{"offerId": "o"}]}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [], "colour": "GREEN"}}),
    ("query($i: Order!) { order(input: $i) }", {"i": None}),
    ("query($p: Pick!) { pick(by: $p) }", {"p": {"id": "1", "code": "2"}}),
    ("query($d: Deep) { deep(d: $d) }", {"d": {"a": [[[["x"]]]]}}),
    ("query($t: Node) { node(tree: $t) }", {"t": {"value": "v", "children": [{"value": 1}]}}),
]


@pytest.mark.parametrize(("query", "variables"), CASES)
def test_same_errors_as_graphql_core(query: str, variables: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    assert graphql_values.coerce_input_value is coercion.coerce_input_value  # installed
    ours = _errors(ODD, query, variables)
    monkeypatch.setattr(graphql_values, "coerce_input_value", coercion._graphql_coerce)
    monkeypatch.setattr(graphql_values, "input_is_nested_too_deeply", coercion._graphql_too_deep)
    theirs = _errors(ODD, query, variables)
    assert ours and ours == theirs


def test_the_depth_guard_is_kept_only_where_a_type_contains_itself() -> None:
    types = ODD.type_map
    assert coercion.depth(types["Line"]) == 1
    assert coercion.depth(GraphQLNonNull(GraphQLList(types["Line"]))) == 2
    assert coercion.depth(types["Order"]) == 3  # Order -> grid -> [[Int!]]
    assert coercion.depth(types["Deep"]) == 5
    assert coercion.depth(types["Node"]) is None
    assert coercion.depth(GraphQLList(types["Node"])) is None
    deep: dict[str, Any] = {"value": 1}
    for _ in range(MAX_NESTING_DEPTH + 5):
        deep = {"parent": deep}
    errors = _errors(ODD, "query($t: Node) { node(tree: $t) }", {"t": deep})
    assert [e["message"] for e in errors] == ["Variable values are nested too deeply."]
    assert coercion.input_is_nested_too_deeply(deep, types["Node"]) is True
    assert coercion.input_is_nested_too_deeply({"parent": {"value": 1}}, types["Node"]) is False


def test_every_product_input_type_has_a_bounded_depth() -> None:
    """The product's inputs do not contain themselves, so their variables skip the depth walk."""
    for type_ in _input_types(build_product_schema()._schema):
        if isinstance(get_named_type(type_), GraphQLInputObjectType):
            assert coercion.depth(type_) is not None, type_
