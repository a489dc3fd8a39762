"""Demo community: an approved leader with three pickup points around Shanghai, a community
group, and a customer who joined it (so their orders are attributed to the leader)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from service.accounts.models import AccountKind
from service.accounts.operations import create_user
from service.leaders import operations
from service.leaders.operations import PickupPointFields

if TYPE_CHECKING:
    from service.demo import DemoLogins

LEADER_LOGIN = ("+8613900000101", "demo-leader-1")
MEMBER_LOGIN = ("+8613900000102", "demo-member-1")

POINTS = [
    PickupPointFields(
        name="静安寺社区便利店",
        address="静安区南京西路 1688 号",
        latitude=31.2237,
        longitude=121.4453,
        opening_hours="08:00-21:00",
    ),
    PickupPointFields(
        name="徐家汇汇金苑自提点",
        address="徐汇区漕溪北路 88 号",
        latitude=31.1955,
        longitude=121.4375,
        opening_hours="09:00-20:00",
    ),
    PickupPointFields(
        name="陆家嘴花园驿站",
        address="浦东新区东昌路 568 号",
        latitude=31.2366,
        longitude=121.5056,
        opening_hours="07:30-22:00",
    ),
]


async def seed_community(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    leader_user = await create_user(
        session,
        tenant_id=tenant_id,
        kind=AccountKind.CUSTOMER,
        display_name="王阿姨",
        phone=LEADER_LOGIN[0],
        password=LEADER_LOGIN[1],
    )
    leader = await operations.apply_as_leader(
        session, tenant_id=tenant_id, user_id=leader_user.id, display_name="王阿姨", phone=LEADER_LOGIN[0]
    )
    await operations.approve_leader(session, tenant_id=tenant_id, leader_id=leader.id)
    for point in POINTS:
        await operations.create_pickup_point(session, tenant_id=tenant_id, leader_id=leader.id, fields=point)
    group = await operations.create_community_group(
        session, tenant_id=tenant_id, leader_id=leader.id, name="静安寺邻里团购群"
    )
    member = await create_user(
        session,
        tenant_id=tenant_id,
        kind=AccountKind.CUSTOMER,
        display_name="李先生",
        phone=MEMBER_LOGIN[0],
        password=MEMBER_LOGIN[1],
    )
    await operations.join_community_group(
        session, tenant_id=tenant_id, user_id=member.id, invite_code=group.invite_code
    )
    logins.logins.append(("LEADER", *LEADER_LOGIN))
    logins.logins.append(("CUSTOMER", *MEMBER_LOGIN))
