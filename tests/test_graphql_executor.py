"""The fast executor answers exactly what graphql-core's own executor answers: data, errors,
their paths, null propagation, for plain fields, preset resolvers, lists and odd values."""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Any

import pytest
import strawberry

from service.schema.execution import FastExecutor, preset


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Leaf:
    name: str
    maybe: str | None = None

    @strawberry.field
    async def loud(self) -> str:
        await asyncio.sleep(0)
        if self.maybe == "fail":
            raise ValueError(f"loud {self.name}")
        return self.name.upper()


@strawberry.type
class Item:
    id: strawberry.ID
    count: int
    colour: Colour
    label: str | None
    must: str  # set to None on purpose in some items: a non-null error
    leaf: Leaf
    optional_leaf: Leaf | None = None
    preset_leaf: strawberry.Private[Leaf | None] = None
    # Lists read from attributes: empty, null or not (only an empty one or a null skips graphql-core).
    leaves: list[Leaf] = strawberry.field(default_factory=list)
    maybe_leaves: list[Leaf | None] | None = None
    names: list[str] = strawberry.field(default_factory=list)
    grid: list[list[int]] | None = None

    @strawberry.field
    @preset("preset_leaf")
    def computed(self) -> Leaf:
        if self.preset_leaf is not None:
            return self.preset_leaf
        return Leaf(name=f"computed {self.id}")

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        return f"later {self.id}"

    @strawberry.field
    def broken(self) -> str | None:
        raise ValueError(f"broken {self.id}")

    @strawberry.field
    def echo(self, text: str) -> str:
        return text


def _items(bad: bool) -> list[Item]:
    items = []
    for i in range(4):
        items.append(Item(
            id=strawberry.ID(str(i)), count=i, colour=Colour.RED if i % 2 else Colour.BLUE,
            label=None if i == 1 else f"label {i}", must="ok", leaf=Leaf(name=f"leaf {i}"),
            optional_leaf=Leaf(name="o") if i == 2 else None,
            preset_leaf=Leaf(name=f"preset {i}") if i % 2 else None,
            leaves=[Leaf(name=f"l{i}")] * (i % 2), maybe_leaves=[None, Leaf(name="m")] if i == 3 else None,
            names=["n"] * i, grid=[] if i % 2 else [[i], []],
        ))
    if bad:
        items[2].must = None  # type: ignore[assignment]
        items[3].count = "not a number"  # type: ignore[assignment]
        items[1].leaf = Leaf(name=None)  # type: ignore[arg-type]
        items[0].optional_leaf = Leaf(name=None)  # type: ignore[arg-type]
        items[3].leaf = Leaf(name="x", maybe="fail")
        items[0].leaves = None  # type: ignore[assignment]
        items[2].names = ("tuple", None)  # type: ignore[assignment]
        items[1].grid = [[1, "x"]]  # type: ignore[list-item]
        items[3].leaves = [Leaf(name=None)]  # type: ignore[arg-type]
    return items


@strawberry.type
class Query:
    @strawberry.field
    def items(self, bad: bool = False) -> list[Item]:
        return _items(bad)

    @strawberry.field
    def nullable_items(self, bad: bool = False) -> list[Item | None] | None:
        return _items(bad)  # type: ignore[return-value]

    @strawberry.field
    def one(self) -> Item:
        return _items(False)[0]


QUERIES = [
    "{ items { id count colour label must leaf { name maybe } optionalLeaf { name } computed { name } } }",
    "{ items { __typename a: id b: id count ...F } } fragment F on Item { leaf { __typename name } }",
    "{ items { id later broken echo(text: \"x\") } }",
    "{ items(bad: true) { id must } }",
    "{ items(bad: true) { id count } }",
    "{ nullableItems(bad: true) { id must leaf { name } } }",
    "{ nullableItems(bad: true) { id count computed { name } } }",
    "{ nullableItems(bad: true) { id optionalLeaf { name } } }",
    "{ nullableItems(bad: true) { id leaf { name } } }",
    "{ items(bad: true) { id optionalLeaf { name } } }",
    "{ items { leaf { loud } computed { loud name } } }",
    "{ nullableItems(bad: true) { id leaf { loud } } }",
    "query($s: Boolean!) { one { id label @skip(if: $s) leaf @include(if: $s) { name } } }",
    "{ items { id leaves { name } maybeLeaves { name } names grid } }",
    "{ items(bad: true) { id leaves { name } } }",
    "{ nullableItems(bad: true) { id leaves { name } names grid maybeLeaves { loud } } }",
    "{ one { computed { name maybe } optionalLeaf { name } } }",
]


def _run(schema: strawberry.Schema, query: str) -> dict:
    result = asyncio.run(schema.execute(query, variable_values={"s": True}))
    errors = sorted((e.message, tuple(e.path or ())) for e in result.errors or [])
    return {"data": result.data, "errors": errors}


@pytest.mark.parametrize("query", QUERIES)
def test_same_answers_as_graphql_core(query: str) -> None:
    plain = strawberry.Schema(Query)
    fast = strawberry.Schema(Query, execution_context_class=FastExecutor)
    expected = _run(plain, query)
    assert _run(fast, query) == expected
    if "bad" in query:
        assert expected["errors"], "the query was meant to fail somewhere"


def test_the_fast_path_is_taken() -> None:
    """Plain and preset fields are planned as such (else this module would test nothing)."""
    seen: list[tuple[str, int]] = []

    class Spy(FastExecutor):
        def _plan(self, parent_type, grouped_field_set):  # type: ignore[no-untyped-def]
            plan = super()._plan(parent_type, grouped_field_set)
            seen.extend((parent_type.name, entry[0]) for entry in plan)
            return plan

    schema = strawberry.Schema(Query, execution_context_class=Spy)
    _run(schema, QUERIES[0])
    kinds = {kind for name, kind in seen if name == "Item"}
    assert kinds == {0, 1}, seen  # leaves and objects (leaf, optionalLeaf, the preset computed)
    seen.clear()
    _run(schema, "{ items { leaves { name } maybeLeaves { name } names grid } }")
    assert {kind for name, kind in seen if name == "Item"} == {4}, seen  # lists of every kind


@strawberry.type
class Shared:
    """An object served to every caller (as the storefront's cached offers are), which lets the
    executor keep its answers (`rendered`)."""

    name: str
    note: str  # a plain attribute that depends on the caller
    leaf: Leaf
    rendered: strawberry.Private[dict | None] = None

    @strawberry.field
    def caller(self, info: strawberry.Info) -> str:
        return str(info.context.cache_key[0])


SHARED = [Shared(name="a", note="-", leaf=Leaf(name="l"), rendered={}),
          Shared(name="b", note="-", leaf=Leaf(name="l"), rendered={})]


@strawberry.type
class SharedQuery:
    @strawberry.field
    def shared(self, info: strawberry.Info) -> list[Shared]:
        for item in SHARED:
            item.note = f"for {getattr(info.context, 'cache_key', ('nobody',))[0]}"
        return SHARED


class Caller:
    def __init__(self, name: str) -> None:
        self.cache_key = (name, "user")


def test_a_caller_dependent_field_never_reaches_another_caller() -> None:
    """Answers kept on shared objects are kept per caller: a field that depends on the caller
    answers each caller with its own value, and the same caller gets the kept answer again."""
    from strawberry.extensions import ParserCache

    fast = strawberry.Schema(SharedQuery, execution_context_class=FastExecutor, extensions=[ParserCache])
    for item in SHARED:
        assert item.rendered is not None
        item.rendered.clear()
    query = "{ shared { name note leaf { name } } }"
    kept: dict[str, Any] = {}
    for caller in ("alice", "bob", "alice", "bob", "carol"):
        got = asyncio.run(fast.execute(query, context_value=Caller(caller)))
        assert not got.errors, got.errors
        assert got.data == {"shared": [{"name": n, "note": f"for {caller}", "leaf": {"name": "l"}} for n in "ab"]}
        first = got.data["shared"][0]  # type: ignore[index]
        assert kept.setdefault(caller, first) is first  # the same caller: the kept answer
    assert len(SHARED[0].rendered or {}) == 3  # one per caller
    # A field with a resolver is never kept; without a caller key nothing is.
    with_resolver = "{ shared { name caller } }"
    for caller in ("alice", "bob"):
        got = asyncio.run(fast.execute(with_resolver, context_value=Caller(caller)))
        assert got.data == {"shared": [{"name": n, "caller": caller} for n in "ab"]}
    got = asyncio.run(fast.execute("{ shared { name note } }", context_value=object()))
    assert not got.errors and got.data["shared"][0]["note"] == "for nobody"  # type: ignore[index]
    assert len(SHARED[0].rendered or {}) == 3


_served = [0]


@strawberry.type
class ChangingQuery:
    @strawberry.field
    def items(self) -> list[Item]:
        _served[0] += 1
        items = _items(False)
        for item in items:
            item.label = f"request {_served[0]}"
            item.leaf = Leaf(name=f"leaf {_served[0]}")
        return items[: 1 + _served[0] % 4]


def _counting(plans: list[str]) -> type[FastExecutor]:
    class Counting(FastExecutor):
        def _plan(self, parent_type, grouped_field_set):  # type: ignore[no-untyped-def]
            plans.append(parent_type.name)
            return super()._plan(parent_type, grouped_field_set)

    return Counting


def test_an_operation_without_directives_is_planned_once_for_all_requests() -> None:
    from strawberry.extensions import ParserCache

    plans: list[str] = []
    fast = strawberry.Schema(ChangingQuery, execution_context_class=_counting(plans), extensions=[ParserCache])
    plain = strawberry.Schema(ChangingQuery)
    query = "{ items { id label leaf { name } ...F } } fragment F on Item { count computed { name } }"
    first: list[str] = []
    for _ in range(4):
        got = asyncio.run(fast.execute(query))
        _served[0] -= 1  # the same data for the plain schema
        assert got.data == asyncio.run(plain.execute(query)).data and not got.errors
        first = first or list(plans)
    assert sorted(first) == ["ChangingQuery", "Item", "Leaf", "Leaf"]  # leaf { name } and computed { name }
    # Later requests plan their root fields only (graphql-core collects those for each request).
    assert sorted(plans) == sorted(first + ["ChangingQuery"] * 3)


def test_an_operation_with_directives_is_collected_for_each_request() -> None:
    from strawberry.extensions import ParserCache

    plans: list[str] = []
    fast = strawberry.Schema(ChangingQuery, execution_context_class=_counting(plans), extensions=[ParserCache])
    plain = strawberry.Schema(ChangingQuery)
    query = "query($s: Boolean!) { items { id label @skip(if: $s) leaf @include(if: $s) { name } } }"
    for shown in (True, False, True, False):
        got = asyncio.run(fast.execute(query, variable_values={"s": shown}))
        _served[0] -= 1
        assert got.data == asyncio.run(plain.execute(query, variable_values={"s": shown})).data
        assert ("leaf" in got.data["items"][0]) is shown and ("label" in got.data["items"][0]) is not shown  # type: ignore[index]
    assert plans.count("Item") == 4
    assert plans.count("ChangingQuery") == 4  # the root's fields too
    root = "query($s: Boolean!) { items @include(if: $s) { id } again: items @skip(if: $s) { label } }"
    for shown in (True, False, True):
        got = asyncio.run(fast.execute(root, variable_values={"s": shown}))
        assert list(got.data) == (["items"] if shown else ["again"]), got  # type: ignore[arg-type]
