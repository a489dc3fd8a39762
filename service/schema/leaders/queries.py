"""Community lists: `leaders` (admins), `pickupPoints` and `nearestPickupPoints` (anyone)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from service.errors import UserErrors
from service.leaders import geo, queries
from service.leaders.models import LeaderStatus as LeaderStatusEnum
from service.schema.access import admins, check_page, is_admin, public, query_error, serial_session
from service.schema.context import Context
from service.schema.leaders.types import Leader, LeaderStatus, PickupPoint, PickupPointDistance
from service.schema.pagination import ORDER_BY_DESCRIPTION, Connection, ListOrder, descending

Info = strawberry.Info[Context, None]


@strawberry.type
class LeadersQuery:
    @strawberry.field(description="Admins.")
    @admins
    async def leaders(
        self,
        info: Info,
        status: Annotated[LeaderStatus | None, strawberry.argument(description="Only leaders in this status.")] = None,
        first: Annotated[int | None, strawberry.argument(
            description="How many items to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE).",
        )] = 20,
        after: Annotated[str | None, strawberry.argument(
            description="The endCursor of the previous page; leave it out for the first page.",
        )] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
    ) -> Connection[Leader]:
        context = info.context
        first = check_page(first, after)
        async with serial_session(context) as session:
            page = await queries.leader_page(
                session,
                tenant_id=context.tenant.id,
                first=first,
                after=after, descending=descending(order_by),
                status=LeaderStatusEnum(status) if status is not None else None,
            )
        return Connection.of(page, Leader.of)

    @strawberry.field(description="Anyone (with X-Tenant): the points taking orders. Admins: every point.")
    @public
    async def pickup_points(
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="How many items to return: 1 to 100 "
                                                                     "(GROUPBUY_MAX_PAGE_SIZE).")] = 20,
        after: Annotated[str | None, strawberry.argument(description="The endCursor of the previous page; "
                                                                     "leave it out for the first page.")] = None,
    ) -> Connection[PickupPoint]:
        context = info.context
        first = check_page(first, after)
        public_only = not await is_admin(context)
        async with serial_session(context) as session:
            page = await queries.pickup_point_page(
                session, tenant_id=context.tenant.id, first=first, after=after, public_only=public_only
            )
        return Connection.of(page, PickupPoint.of)

    @strawberry.field(description="The points taking orders nearest to a place, by great-circle distance.")
    @public
    async def nearest_pickup_points(
        self,
        info: Info,
        latitude: Annotated[float, strawberry.argument(description="WGS 84 latitude of the place, in degrees.")],
        longitude: Annotated[float, strawberry.argument(description="WGS 84 longitude of the place, in degrees.")],
        first: Annotated[int | None, strawberry.argument(description="How many points, nearest first (at most "
                                                                     "100).")] = 5,
    ) -> list[PickupPointDistance]:
        context = info.context
        first = check_page(first, None, default=5)
        try:
            geo.check_coordinates(latitude, longitude)
            async with serial_session(context) as session:
                found = await geo.nearest_pickup_points(
                    session, tenant_id=context.tenant.id, latitude=latitude, longitude=longitude, first=first
                )
        except UserErrors as e:
            raise query_error(e) from None
        return [PickupPointDistance(pickup_point=PickupPoint.of(p), distance_meters=d) for p, d in found]
