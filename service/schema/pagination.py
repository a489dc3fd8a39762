"""Relay connections: `XConnection { edges { node cursor } pageInfo }` for any node type."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from service.pagination import BadPage, Page

T = TypeVar("T")


@strawberry.type(description="Where a page is in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor: give it as `after` for the next "
                                                          "page.")
    has_previous_page: bool = strawberry.field(default=False, description="Whether items precede this page (always "
                                                                          "false: lists are read forwards).")
    start_cursor: str | None = strawberry.field(default=None, description="The first item's cursor.")


@strawberry.type(description="One item of a page and its cursor.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    cursor: str = strawberry.field(description="Give it as `after` to read the items that follow this one.")


@strawberry.type(
    description="A page of a list (a Relay connection): read the next page with `after: pageInfo.endCursor`.")
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description="The items of this page, in the list's order.")
    page_info: PageInfo = strawberry.field(description="Where this page is in the list.")

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
