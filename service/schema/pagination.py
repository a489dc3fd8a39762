"""Relay connections: `XConnection { edges { node cursor } pageInfo }` for any node type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from service.pagination import BadPage, Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = False
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page[Any], to_node: Callable[[Any], Any]) -> Connection[Any]:
        edges = [Edge(node=to_node(item), cursor=c) for item, c in zip(page.items, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=page.cursors[-1] if page.cursors else None,
                start_cursor=page.cursors[0] if page.cursors else None,
            ),
        )


def page_error(e: BadPage) -> GraphQLError:
    return GraphQLError(str(e), extensions={"code": "INVALID"})
