"""Relay connections: `XConnection { edges { node cursor } pageInfo }` for any node type."""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any, Generic, TypeVar

import strawberry
from graphql import GraphQLError

from service.i18n import localize
from service.pagination import BadPage, Page, count_of
from service.schema.access import serial_session

T = TypeVar("T")


@strawberry.enum(description="Which way a list runs.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Oldest (smallest) first: the default.")
    DESC = strawberry.enum_value("DESC", description="Newest (largest) first.")


@strawberry.enum(description="What a list is sorted by.")
class ListOrderField(Enum):
    CREATED_AT = strawberry.enum_value("CREATED_AT", description="When the item was created (then its ID).")


@strawberry.input(description="The order of a list: pages read with `after` follow it.")
class ListOrder:
    field: ListOrderField = strawberry.field(default=ListOrderField.CREATED_AT,
                                             description="What to sort by.")
    direction: OrderDirection = strawberry.field(default=OrderDirection.ASC, description="Which way.")


def descending(order: ListOrder | None) -> bool:
    """Whether a list ordered by `order` runs newest first (a cursor keeps the order it was read in
    only when the same `orderBy` is given with it)."""
    return order is not None and order.direction is OrderDirection.DESC


ORDER_BY_DESCRIPTION = "The list's order: by creation, oldest first unless DESC. Give the same with `after`."


@strawberry.type(description="Where a page is in its list.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="Whether more items follow this page.")
    end_cursor: str | None = strawberry.field(description="The last item's cursor: give it as `after` for the next "
                                                          "page.")
    has_previous_page: bool = strawberry.field(default=False, description="Whether items precede this page "
                                                                          "(true on a page read `after` a cursor).")
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
    # What totalCount counts: a statement of the whole list, or the number when known.
    listed: strawberry.Private[Any] = None
    total: strawberry.Private[int | None] = None

    @classmethod
    def of(cls, page: Page[Any], to_node: Callable[[Any], Any]) -> Connection[Any]:
        edges = [Edge(node=to_node(item), cursor=c) for item, c in zip(page.items, page.cursors, strict=True)]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=page.cursors[-1] if page.cursors else None,
                start_cursor=page.cursors[0] if page.cursors else None,
                has_previous_page=page.has_previous,
            ),
            listed=page.listed,
            total=page.total if page.listed is not None or page.total is not None else len(page.items),
        )

    @strawberry.field(description="How many items the whole list has (every page, with the same filters). "
                                  "Counted when asked: leave it out when you do not need it.")
    async def total_count(self, info: strawberry.Info) -> int:
        if self.total is not None or self.listed is None:
            return self.total if self.total is not None else len(self.edges)
        async with serial_session(info.context) as session:
            if callable(self.listed):  # a list read by hand counts itself: `async (session) -> int`
                self.total = int(await self.listed(session))
            else:
                self.total = int((await session.execute(count_of(self.listed))).scalar_one())
        return self.total


def page_error(e: BadPage) -> GraphQLError:
    """In the caller's language: BadPage carries a catalog message."""
    return GraphQLError(localize(e.args[0], "INVALID"), extensions={"code": "INVALID"})
