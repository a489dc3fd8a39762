"""Variables coerced by the compiled functions (service.schema.coercion, called from our
executor's `build`) come out exactly as graphql-core's own coercion makes them — value,
`Undefined`, the variables' sources and the errors reported — for every input type of a schema
of odd cases and of the product's schema, on generated values."""

from __future__ import annotations

from typing import Any

import pytest
from graphql import (
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    Undefined,
    VariableValues,
    build_schema,
    get_named_type,
    get_variable_values,
    graphql_sync,
    is_enum_type,
    is_input_object_type,
    is_input_type,
    is_list_type,
    is_non_null_type,
    parse,
)
from graphql.language.parser import MAX_NESTING_DEPTH
from graphql.utilities.coerce_input_value import coerce_input_value
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from service.schema import build_schema as build_product_schema
from service.schema import coercion
from service.schema.execution import FastExecutor

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
PRODUCT = build_product_schema().graphql_schema  # type: ignore[attr-defined]


@pytest.mark.parametrize("schema", [ODD, PRODUCT], ids=["odd", "product"])
@settings(max_examples=100, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_same_value_as_graphql_core(schema: Any, data: st.DataObject) -> None:
    for named in _named(schema):
        type_ = data.draw(st.sampled_from(_wrapped(named)))
        value = data.draw(_shaped(type_), label=str(type_))
        ours = coercion.coercer(type_)(value)
        theirs = coerce_input_value(value, type_)
        assert _same(ours, theirs), (str(type_), value, ours, theirs)


@settings(max_examples=200, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(value=json_values)
def test_same_value_on_any_json(value: Any) -> None:
    for type_ in _input_types(ODD):
        assert _same(coercion.coercer(type_)(value), coerce_input_value(value, type_)), (str(type_), value)


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


def _answer(schema: Any, query: str, variables: dict[str, Any], executor: type | None) -> tuple[Any, list[dict[str, Any]]]:
    result = graphql_sync(schema, query, variable_values=variables, executor_class=executor)
    return result.data, [e.formatted for e in result.errors or []]


CASES = [
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [{"offerId": "o", "quantity": "2"}]}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [], "bogus": 1}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"lines": [{"offerId": "o"}]}}),
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [], "colour": "GREEN"}}),
    ("query($i: Order!) { order(input: $i) }", {"i": None}),
    ("query($i: Order!) { order(input: $i) }", {}),
    ("query($p: Pick!) { pick(by: $p) }", {"p": {"id": "1", "code": "2"}}),
    ("query($d: Deep) { deep(d: $d) }", {"d": {"a": [[[["x"]]]]}}),
    ("query($t: Node) { node(tree: $t) }", {"t": {"value": "v", "children": [{"value": 1}]}}),
    ("query($x: Nope) { deep }", {"x": 1}),
    ("query A { deep } query B { pick }", {}),
]


@pytest.mark.parametrize(("query", "variables"), CASES)
def test_same_errors_as_graphql_core(query: str, variables: dict[str, Any]) -> None:
    ours = _answer(ODD, query, variables, FastExecutor)
    theirs = _answer(ODD, query, variables, None)
    assert ours[1] and ours == theirs


def _sources(values: VariableValues) -> dict[str, tuple]:
    """The sources as graphql-core compares them: each request builds its own signatures."""
    return {name: (source.signature.name, str(source.signature.type), source.signature.default,
                   source.signature.default_value, source.value) for name, source in values.sources.items()}


GOOD = [
    ("query($i: Order!) { order(input: $i) }", {"i": {"batchId": "b", "lines": [{"offerId": "o", "quantity": 2}]}}),
    ("query($s: Int = 4, $c: Colour = RED, $t: [String]) { deep }", {}),
    ("query($s: Int = 4, $t: [String]) { deep }", {"s": None, "t": "one"}),
    ("query Q($p: Pick!) { pick(by: $p) } query R { deep }", {"p": {"code": "2"}}),
]


@pytest.mark.parametrize(("query", "variables"), GOOD)
def test_same_variables_as_graphql_core(query: str, variables: dict[str, Any]) -> None:
    document = parse(query)
    name = "Q" if " Q(" in query else None
    operation = next(d for d in document.definitions if getattr(d, "name", None) is None or d.name.value == "Q")
    prepared = coercion.prepare(ODD, document, name)
    assert prepared is not None
    theirs = get_variable_values(ODD, operation.variable_definitions, variables)
    assert isinstance(theirs, VariableValues)
    ours = prepared.coerce(variables)
    assert ours is not None
    assert ours.coerced == theirs.coerced
    assert _sources(ours) == _sources(theirs)


def _one_variable(type_: Any) -> Any:
    return parse(f"query($v: {type_}) {{ __typename }}")


@settings(max_examples=60, deadline=None, phases=[Phase.explicit, Phase.reuse, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_product_variables_as_get_variable_values(data: st.DataObject) -> None:
    """Every input type of the product's schema as a variable: our values and sources where
    graphql-core's `get_variable_values` has values, and none (graphql-core's errors) where it has errors."""
    for named in _named(PRODUCT):
        type_ = data.draw(st.sampled_from(_wrapped(named)))
        document = _one_variable(type_)
        variables = data.draw(st.one_of(st.just({}), _shaped(type_).map(lambda v: {"v": v})), label=str(type_))
        prepared = coercion.prepare(PRODUCT, document, None)
        assert prepared is not None
        ours = prepared.coerce(variables)
        theirs = get_variable_values(PRODUCT, document.definitions[0].variable_definitions, variables)
        if isinstance(theirs, list):
            assert ours is None, (str(type_), variables, ours)
        else:
            assert ours is not None, (str(type_), variables, theirs)
            assert _sources(ours) == _sources(theirs)
            assert ours.coerced.keys() == theirs.coerced.keys()
            for key in ours.coerced:
                assert _same(ours.coerced[key], theirs.coerced[key]), (str(type_), variables)


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
    query = "query($t: Node) { node(tree: $t) }"
    assert coercion.prepare(ODD, parse(query), None) is None  # graphql-core's build, with its guard
    _, errors = _answer(ODD, query, {"t": deep}, FastExecutor)
    assert [e["message"] for e in errors] == ["Variable values are nested too deeply."]
    assert _answer(ODD, query, {"t": {"parent": {"value": 1}}}, FastExecutor) == ({"node": None}, [])


def test_every_product_input_type_has_a_bounded_depth() -> None:
    """The product's inputs do not contain themselves, so their variables skip the depth walk."""
    for type_ in _input_types(PRODUCT):
        if isinstance(get_named_type(type_), GraphQLInputObjectType):
            assert coercion.depth(type_) is not None, type_


def test_the_product_operations_take_the_compiled_path() -> None:
    """orderPlace's and the catalog's variables are coerced by the compiled functions (graphql-core's
    `build` is left only for errors and odd documents)."""
    for query in ("mutation($input: OrderPlaceInput!) { orderPlace(input: $input) { order { id } } }",
                  "query($id: ID!, $first: Int = 20) { batch(id: $id) { id } }"):
        assert coercion.prepare(PRODUCT, parse(query), None) is not None, query
