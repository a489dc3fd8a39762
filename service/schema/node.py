"""`node(id)`: every Node type registers how to load one of its objects in the caller's tenant."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from uuid import UUID

import strawberry

from service import global_id
from service.schema.access import public
from service.schema.common import Node
from service.schema.context import Context

NodeLoader = Callable[[Context, UUID], Awaitable[Any]]
_loaders: dict[str, NodeLoader] = {}
# Node types no root field returns directly (only `node()` does): given to the schema as `types`.
NODE_TYPES: list[type] = []


def register_node_type(*types: type) -> None:
    NODE_TYPES.extend(t for t in types if t not in NODE_TYPES)


def node_loader(type_name: str) -> Callable[[NodeLoader], NodeLoader]:
    def register(fn: NodeLoader) -> NodeLoader:
        _loaders[type_name] = fn
        return fn

    return register


async def load_node(context: Context, id: str) -> Any:
    decoded = global_id.decode(id)
    if decoded is None or decoded[0] not in _loaders:
        return None
    return await _loaders[decoded[0]](context, decoded[1])


@strawberry.type
class NodeQuery:
    @strawberry.field(description="Any object by its global ID; another tenant's ID is null.")
    @public
    async def node(
        self,
        info: strawberry.Info[Context, None],
        id: Annotated[strawberry.ID, strawberry.argument(description="Any object's global ID.")],
    ) -> Node | None:
        return await load_node(info.context, id)
