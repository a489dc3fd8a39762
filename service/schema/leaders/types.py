"""Leader, PickupPoint and CommunityGroup as GraphQL types.

What anyone may see: approved leaders, their active pickup points and their groups (without
invite codes). Admins and the leader themself see everything of that leader.
"""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import strawberry

from service import global_id
from service.errors import PermissionDenied
from service.leaders import models
from service.leaders.models import LeaderStatus as LeaderStatusEnum
from service.leaders.operations import is_public
from service.schema.access import get_loader, is_admin
from service.schema.common import Node, describe_values, rate_text
from service.schema.context import Context
from service.schema.leaders.dataloaders import (
    CommunityGroupByIdLoader,
    CommunityGroupsByLeaderLoader,
    LeaderByIdLoader,
    LeaderByUserLoader,
    MemberCountByGroupLoader,
    PickupPointByIdLoader,
    PickupPointsByLeaderLoader,
)
from service.schema.node import node_loader

Info = strawberry.Info[Context, None]
# registered on the class itself
strawberry.enum(LeaderStatusEnum, name="LeaderStatus", description="Where a leader's application is.")
describe_values(LeaderStatusEnum, {
    "PENDING": "Applied, waiting for an admin.",
    "APPROVED": "Leads: their points take orders.",
    "SUSPENDED": "Suspended by an admin: their points stop taking orders.",
    "REJECTED": "The application was refused.",
})
LeaderStatus = LeaderStatusEnum


async def owns_leader(context: Context, leader: models.Leader) -> bool:
    """Admins, or the leader's own account (whatever the leader's status)."""
    user_id = context.principal.user_id
    return (user_id is not None and leader.user_id == user_id) or await is_admin(context)


async def _leader(context: Context, leader_id: UUID) -> models.Leader:
    row = await get_loader(context, LeaderByIdLoader).load(leader_id)
    assert row is not None  # the foreign key guarantees it
    return row


@strawberry.type(name="Leader", description="A group leader (团长): runs pickup points and community groups and earns "
                                            "commissions.")
class Leader(Node):
    id: strawberry.ID = strawberry.field(description="The leader's global ID.")
    display_name: str = strawberry.field(description="The name customers see.")
    status: LeaderStatus = strawberry.field(description="Where the leader's application is.")
    row: strawberry.Private[models.Leader]

    @classmethod
    def of(cls, row: models.Leader) -> Leader:
        return cls(
            id=strawberry.ID(global_id.encode("Leader", row.id)),
            display_name=row.display_name,
            status=LeaderStatusEnum(row.status),
            row=row,
        )

    @strawberry.field(description="Admins and the leader only.")
    async def phone(self, info: Info) -> str | None:
        return self.row.phone if await owns_leader(info.context, self.row) else None

    @strawberry.field(description="Why the leader was suspended or rejected: admins and the leader only.")
    async def status_reason(self, info: Info) -> str | None:
        return self.row.status_reason if await owns_leader(info.context, self.row) else None

    @strawberry.field(description="The leader's rate, or the tenant's default until one is set at approval.")
    def commission_rate(self, info: Info) -> Decimal:
        rate = self.row.commission_rate
        return rate_text(rate if rate is not None else info.context.tenant.default_commission_rate)

    @strawberry.field(description="Admins and the leader see every point; others the ones taking orders.")
    async def pickup_points(self, info: Info) -> list[PickupPoint]:
        rows = await get_loader(info.context, PickupPointsByLeaderLoader).load(self.row.id)
        if not await owns_leader(info.context, self.row):
            rows = [r for r in rows if is_public(self.row.status, r.active)]
        return [PickupPoint.of(r) for r in rows]

    @strawberry.field(description="The leader's community groups.")
    async def community_groups(self, info: Info) -> list[CommunityGroup]:
        rows = await get_loader(info.context, CommunityGroupsByLeaderLoader).load(self.row.id)
        return [CommunityGroup.of(r) for r in rows]


@strawberry.type(
    name="PickupPoint", description="A leader's pickup point (自提点), where customers collect their orders.")
class PickupPoint(Node):
    id: strawberry.ID = strawberry.field(description="The point's global ID.")
    name: str = strawberry.field(description="The point's name.")
    address: str = strawberry.field(description="Its street address.")
    latitude: float = strawberry.field(description="WGS 84 latitude in degrees.")
    longitude: float = strawberry.field(description="WGS 84 longitude in degrees.")
    opening_hours: str | None = strawberry.field(description="When customers can collect, as the leader wrote it.")
    active: bool = strawberry.field(description="Whether it takes orders.")
    row: strawberry.Private[models.PickupPoint]

    @classmethod
    def of(cls, row: models.PickupPoint) -> PickupPoint:
        return cls(
            id=strawberry.ID(global_id.encode("PickupPoint", row.id)),
            name=row.name,
            address=row.address,
            latitude=row.latitude,
            longitude=row.longitude,
            opening_hours=row.opening_hours,
            active=row.active,
            row=row,
        )

    @strawberry.field(description="The leader who runs it.")
    async def leader(self, info: Info) -> Leader:
        return Leader.of(await _leader(info.context, self.row.leader_id))


@strawberry.type(description="A pickup point and how far it is.")
class PickupPointDistance:
    pickup_point: PickupPoint = strawberry.field(description="The pickup point.")
    distance_meters: float = strawberry.field(description="The great-circle distance in metres.")


@strawberry.type(name="CommunityGroup", description="A leader's community group (社群) that customers join with an "
                                                    "invite code.")
class CommunityGroup(Node):
    id: strawberry.ID = strawberry.field(description="The group's global ID.")
    name: str = strawberry.field(description="The group's name.")
    row: strawberry.Private[models.CommunityGroup]

    @classmethod
    def of(cls, row: models.CommunityGroup) -> CommunityGroup:
        return cls(id=strawberry.ID(global_id.encode("CommunityGroup", row.id)), name=row.name, row=row)

    @strawberry.field(description="The leader who runs it.")
    async def leader(self, info: Info) -> Leader:
        return Leader.of(await _leader(info.context, self.row.leader_id))

    @strawberry.field(description="The group's leader and admins only; anyone else gets a FORBIDDEN error.")
    async def invite_code(self, info: Info) -> str:
        if not await owns_leader(info.context, await _leader(info.context, self.row.leader_id)):
            raise PermissionDenied("Only the group's leader and administrators see its invite code.")
        return self.row.invite_code

    @strawberry.field(description="How many customers joined it.")
    async def member_count(self, info: Info) -> int:
        return await get_loader(info.context, MemberCountByGroupLoader).load(self.row.id)


@node_loader("Leader")
async def load_leader_node(context: Context, id: UUID) -> Leader | None:
    row = await get_loader(context, LeaderByIdLoader).load(id)
    if row is None or not (row.status == LeaderStatusEnum.APPROVED or await owns_leader(context, row)):
        return None
    return Leader.of(row)


@node_loader("PickupPoint")
async def load_pickup_point_node(context: Context, id: UUID) -> PickupPoint | None:
    row = await get_loader(context, PickupPointByIdLoader).load(id)
    if row is None:
        return None
    leader = await _leader(context, row.leader_id)
    if not (is_public(leader.status, row.active) or await owns_leader(context, leader)):
        return None
    return PickupPoint.of(row)


@node_loader("CommunityGroup")
async def load_community_group_node(context: Context, id: UUID) -> CommunityGroup | None:
    row = await get_loader(context, CommunityGroupByIdLoader).load(id)
    if row is None:
        return None
    leader = await _leader(context, row.leader_id)
    if not (leader.status == LeaderStatusEnum.APPROVED or await owns_leader(context, leader)):
        return None
    return CommunityGroup.of(row)


async def viewer_leader(context: Context, user_id: str | None) -> Leader | None:
    """`me.leader`: the caller's leader record in any status, so an applicant sees PENDING."""
    uid = global_id.decode_as(user_id, "User") if user_id else None
    if uid is None:
        return None
    row = await get_loader(context, LeaderByUserLoader).load(uid)
    return Leader.of(row) if row is not None else None
