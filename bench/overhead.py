"""Benchmark 6: GraphQL overhead per resolved field, in-process. A list of 100 objects with 10
scalar fields each (1,000 resolved leaf fields + 100 objects): strawberry executing the query
(its parse and validation caches warm) vs graphql-core executing the same pre-parsed,
pre-validated document over plain dicts with default resolvers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import strawberry
from graphql import build_schema, execute, parse

from bench.common import summary

N, FIELDS = 100, 10
QUERY = "{ items { " + " ".join(f"f{i}" for i in range(FIELDS)) + " } }"
ROWS = [{f"f{i}": f"value {k}.{i}" for i in range(FIELDS)} for k in range(N)]


@strawberry.type
class Item:
    f0: str
    f1: str
    f2: str
    f3: str
    f4: str
    f5: str
    f6: str
    f7: str
    f8: str
    f9: str


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return [Item(**row) for row in ROWS]


def _strawberry_schema() -> strawberry.Schema:
    return strawberry.Schema(Query)


def _time(fn: Any, repeat: int) -> float:
    fn()
    t = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - t) / repeat


def run(*, runs: int = 5, repeat: int = 200) -> dict[str, Any]:
    schema = _strawberry_schema()
    core_schema = build_schema("type Item { " + " ".join(f"f{i}: String!" for i in range(FIELDS))
                               + " } type Query { items: [Item!]! }")
    document = parse(QUERY)
    loop = asyncio.new_event_loop()

    def ours() -> None:
        result = loop.run_until_complete(schema.execute(QUERY))
        assert result.errors is None and len(result.data["items"]) == N  # type: ignore[index]

    def core() -> None:
        result = execute(core_schema, document, root_value={"items": ROWS})
        assert result.errors is None  # type: ignore[union-attr]

    ours_us, core_us = [], []
    for _ in range(runs):
        ours_us.append(_time(ours, repeat) * 1e6 / (N * FIELDS))
        core_us.append(_time(core, repeat) * 1e6 / (N * FIELDS))
    loop.close()
    return {
        "fields_per_query": N * FIELDS, "repeat": repeat,
        "strawberry_us_per_field": summary([round(x, 3) for x in ours_us]),
        "graphql_core_us_per_field": summary([round(x, 3) for x in core_us]),
        # graphql-core's time / strawberry's: the share of strawberry's cost that is the executor itself
        "ratio": summary([c / o for c, o in zip(core_us, ours_us, strict=True)]),
    }
