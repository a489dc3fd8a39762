"""Community mutations: applying and approving leaders, pickup points, groups and joining them.

Who may act is decided here (roles), what is valid in the domain (service/leaders/operations).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import Role
from service.errors import PermissionDenied
from service.leaders import operations
from service.leaders.models import Leader as LeaderRow
from service.leaders.operations import PickupPointFields
from service.schema.access import ADMINS, Caller, admins, decode, is_admin, requires, roles_of
from service.schema.common import UserError
from service.schema.context import Context
from service.schema.leaders.types import CommunityGroup, Leader, PickupPoint
from service.schema.mutation import run_mutation

Info = strawberry.Info[Context, None]


@strawberry.input(description="An application to become a leader.")
class LeaderApplyInput:
    display_name: str = strawberry.field(description="The name customers will see.")
    phone: str = strawberry.field(description="A phone number the tenant can reach the leader on.")


@strawberry.type(description="The result of a leader mutation.")
class LeaderPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    leader: Leader | None = strawberry.field(default=None, description="The leader as they are now; null when refused.")


@strawberry.input(description="A pickup point's values.")
class PickupPointInput:
    name: str = strawberry.field(description="The point's name.")
    address: str = strawberry.field(description="Its street address.")
    latitude: float = strawberry.field(description="WGS 84 latitude in degrees, -90 to 90.")
    longitude: float = strawberry.field(
        description="WGS 84 longitude in degrees, -180 to 180.")
    leader_id: strawberry.ID | None = strawberry.field(
        default=None, description="Admins only: the leader who runs it (a leader creates points for themselves).")
    opening_hours: str | None = strawberry.field(default=None, description="When customers can collect, free text.")
    active: bool | None = strawberry.field(default=True, description="Whether it takes orders.")


@strawberry.type(description="The result of a pickup point mutation.")
class PickupPointPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    pickup_point: PickupPoint | None = strawberry.field(default=None, description="The point as it is now; null when "
                                                                                  "refused.")


@strawberry.input(description="A new community group.")
class CommunityGroupInput:
    name: str = strawberry.field(description="The group's name (1 to 100 characters).")


@strawberry.type(description="The result of a community group mutation.")
class CommunityGroupPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    community_group: CommunityGroup | None = strawberry.field(default=None, description="The group; null when refused.")


async def _own_leader(context: Context, session: AsyncSession) -> LeaderRow:
    """The caller's own leader record, which must be APPROVED."""
    user_id = await context.require_user()
    leader = None
    if Role.LEADER in await roles_of(context):
        leader = await operations.approved_leader_of_user(
            session, tenant_id=context.tenant.id, user_id=user_id
        )
    if leader is None:
        raise PermissionDenied("Only an approved leader can do this.")
    return leader


def _fields(input: PickupPointInput) -> PickupPointFields:
    return PickupPointFields(
        name=input.name,
        address=input.address,
        latitude=input.latitude,
        longitude=input.longitude,
        opening_hours=input.opening_hours,
        active=input.active is not False,
    )


@strawberry.type
class LeadersMutation:
    @strawberry.mutation(description="A signed-in customer; one application per account.")
    @requires(Caller.CUSTOMER)
    async def leader_apply(
        self,
        info: Info,
        input: Annotated[LeaderApplyInput, strawberry.argument(description="The application.")],
    ) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.apply_as_leader(
                session,
                tenant_id=context.tenant.id,
                user_id=await context.require_user(),
                display_name=input.display_name,
                phone=input.phone,
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="Admins: rate in [0, 0.5], default the tenant's default rate.")
    @admins
    async def leader_approve(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(
            description="The leader's global ID.")],
        commission_rate: Annotated[Decimal | None, strawberry.argument(
            description="A fraction in [0, 0.5]; default the tenant's defaultCommissionRate.")] = None,
    ) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.approve_leader(
                session,
                tenant_id=context.tenant.id,
                leader_id=decode(id, "Leader"),
                commission_rate=commission_rate,
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="Admins: refuse a pending application.")
    @admins
    async def leader_reject(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The leader's global ID.")],
        reason: Annotated[str, strawberry.argument(description="Why, for the applicant.")],
    ) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.reject_leader(
                session, tenant_id=context.tenant.id, leader_id=decode(id, "Leader"), reason=reason
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="Admins: the leader's points stop taking orders and leave public lists.")
    @admins
    async def leader_suspend(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The leader's global ID.")],
        reason: Annotated[str, strawberry.argument(description="Why, for the record.")],
    ) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.suspend_leader(
                session, tenant_id=context.tenant.id, leader_id=decode(id, "Leader"), reason=reason
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="An approved leader (own points) or admins (any leader, with leaderId).")
    @requires(ADMINS, Caller.LEADER)
    async def pickup_point_create(
        self,
        info: Info,
        input: Annotated[PickupPointInput, strawberry.argument(description="The point.")],
    ) -> PickupPointPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            wanted = decode(input.leader_id, "Leader") if input.leader_id is not None else None
            if await is_admin(context):
                leader_id = wanted
            else:
                leader_id = (await _own_leader(context, session)).id
                if input.leader_id is not None and wanted != leader_id:
                    raise PermissionDenied("A leader creates pickup points for themself only.")
            row = await operations.create_pickup_point(
                session, tenant_id=context.tenant.id, leader_id=leader_id, fields=_fields(input)
            )
            return {"pickup_point": PickupPoint.of(row)}

        return await run_mutation(context, PickupPointPayload, action)

    @strawberry.mutation(description="The point's approved leader, or admins.")
    @requires(ADMINS, Caller.LEADER)
    async def pickup_point_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The point's global ID.")],
        input: Annotated[PickupPointInput, strawberry.argument(description="Every value of the point.")],
    ) -> PickupPointPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            admin = await is_admin(context)
            own = None if admin else await _own_leader(context, session)
            point = await operations.pickup_point_for_update(
                session, tenant_id=context.tenant.id, point_id=decode(id, "PickupPoint")
            )
            if own is not None and point.leader_id != own.id:
                raise PermissionDenied("A leader updates their own pickup points only.")
            row = await operations.update_pickup_point(
                session,
                tenant_id=context.tenant.id,
                point=point,
                leader_id=decode(input.leader_id, "Leader") if input.leader_id is not None else None,
                leader_id_given=input.leader_id is not None,
                fields=_fields(input),
            )
            return {"pickup_point": PickupPoint.of(row)}

        return await run_mutation(context, PickupPointPayload, action)

    @strawberry.mutation(description="An approved leader: a group with a fresh invite code.")
    @requires(Caller.LEADER)
    async def community_group_create(
        self,
        info: Info,
        input: Annotated[CommunityGroupInput, strawberry.argument(description="The group.")],
    ) -> CommunityGroupPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            leader = await _own_leader(context, session)
            row = await operations.create_community_group(
                session, tenant_id=context.tenant.id, leader_id=leader.id, name=input.name
            )
            return {"community_group": CommunityGroup.of(row)}

        return await run_mutation(context, CommunityGroupPayload, action)

    @strawberry.mutation(description="A signed-in customer; joining again is not an error and counts once.")
    @requires(Caller.CUSTOMER)
    async def community_group_join(
        self,
        info: Info,
        invite_code: Annotated[str, strawberry.argument(description="The code from the group's invite link.")],
    ) -> CommunityGroupPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.join_community_group(
                session,
                tenant_id=context.tenant.id,
                user_id=await context.require_user(),
                invite_code=invite_code,
            )
            return {"community_group": CommunityGroup.of(row)}

        return await run_mutation(context, CommunityGroupPayload, action)

    @strawberry.mutation(description="Admins: a suspended leader approved again, with the rate they had.")
    @admins
    async def leader_reinstate(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="The leader's global ID.")]
    ) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.reinstate_leader(
                session, tenant_id=context.tenant.id, leader_id=decode(id, "Leader")
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="The point's approved leader, or admins: no new orders, out of public lists.")
    @requires(ADMINS, Caller.LEADER)
    async def pickup_point_deactivate(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The pickup point's global ID.")],
    ) -> PickupPointPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            admin = await is_admin(context)
            own = None if admin else await _own_leader(context, session)
            point = await operations.pickup_point_for_update(
                session, tenant_id=context.tenant.id, point_id=decode(id, "PickupPoint")
            )
            if own is not None and point.leader_id != own.id:
                raise PermissionDenied("A leader deactivates their own pickup points only.")
            return {"pickup_point": PickupPoint.of(await operations.deactivate_pickup_point(session, point=point))}

        return await run_mutation(context, PickupPointPayload, action)
