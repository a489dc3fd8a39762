"""Community mutations: applying and approving leaders, pickup points, groups and joining them.

Who may act is decided here (roles), what is valid in the domain (service/leaders/operations).
"""

from __future__ import annotations

from decimal import Decimal

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


@strawberry.input
class LeaderApplyInput:
    display_name: str
    phone: str


@strawberry.type
class LeaderPayload:
    errors: list[UserError]
    leader: Leader | None = None


@strawberry.input
class PickupPointInput:
    name: str
    address: str
    latitude: float
    longitude: float
    leader_id: strawberry.ID | None = None
    opening_hours: str | None = None
    active: bool | None = True


@strawberry.type
class PickupPointPayload:
    errors: list[UserError]
    pickup_point: PickupPoint | None = None


@strawberry.input
class CommunityGroupInput:
    name: str


@strawberry.type
class CommunityGroupPayload:
    errors: list[UserError]
    community_group: CommunityGroup | None = None


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
    async def leader_apply(self, info: Info, input: LeaderApplyInput) -> LeaderPayload:
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
        self, info: Info, id: strawberry.ID, commission_rate: Decimal | None = None
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
    async def leader_reject(self, info: Info, id: strawberry.ID, reason: str) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.reject_leader(
                session, tenant_id=context.tenant.id, leader_id=decode(id, "Leader"), reason=reason
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="Admins: the leader's points stop taking orders and leave public lists.")
    @admins
    async def leader_suspend(self, info: Info, id: strawberry.ID, reason: str) -> LeaderPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            row = await operations.suspend_leader(
                session, tenant_id=context.tenant.id, leader_id=decode(id, "Leader"), reason=reason
            )
            return {"leader": Leader.of(row)}

        return await run_mutation(context, LeaderPayload, action)

    @strawberry.mutation(description="An approved leader (own points) or admins (any leader, with leaderId).")
    @requires(ADMINS, Caller.LEADER)
    async def pickup_point_create(self, info: Info, input: PickupPointInput) -> PickupPointPayload:
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
        self, info: Info, id: strawberry.ID, input: PickupPointInput
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
    async def community_group_create(self, info: Info, input: CommunityGroupInput) -> CommunityGroupPayload:
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
    async def community_group_join(self, info: Info, invite_code: str) -> CommunityGroupPayload:
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
