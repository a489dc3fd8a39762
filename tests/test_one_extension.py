"""The product's schema runs one extension, without an execution hook (each costs strawberry's
runner per request); its operation name still reaches the log context while the operation
executes, and only then, as Observability's execution hook did."""

from __future__ import annotations

import asyncio

import strawberry
from strawberry.extensions import SchemaExtension

from service.logs import operation_var
from service.schema import Schema, schema
from service.schema.extensions import ObservedGuards


@strawberry.type
class _Query:
    @strawberry.field
    def name(self) -> str:
        return operation_var.get() or "-"


def _schema() -> strawberry.Schema:
    return Schema(_Query, extensions=[lambda: ObservedGuards(max_tokens=100, max_cost=50)])


def test_one_extension_without_an_execution_hook() -> None:
    assert len(schema().extensions) == 1
    assert ObservedGuards.on_execute is SchemaExtension.on_execute  # strawberry's runner skips it


def test_the_operation_name_is_set_while_executing_and_reset() -> None:
    async def run() -> None:
        result = await _schema().execute("query Named { name }")
        assert result.errors is None and result.data == {"name": "Named"}
        assert operation_var.get() is None
        refused = await _schema().execute("query Bad { nope }")
        assert refused.errors and operation_var.get() is None

    asyncio.run(run())
