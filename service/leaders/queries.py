"""Reading leaders, pickup points and groups: pages for the lists, batched look-ups for the
DataLoaders. Every function filters by tenant explicitly; row-level security does it again."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import and_, col, select

from service.leaders.models import CommunityGroup, GroupMember, Leader, LeaderStatus, PickupPoint
from service.pagination import Page, fetch_page


async def leader_page(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    first: int,
    after: str | None,
    status: LeaderStatus | None = None,
    descending: bool = False,
) -> Page[Leader]:
    stmt = select(Leader).where(Leader.tenant_id == tenant_id)
    if status is not None:
        stmt = stmt.where(Leader.status == status)
    return await fetch_page(session, stmt, Leader, first=first, after=after, descending=descending)


async def pickup_point_page(
    session: AsyncSession, *, tenant_id: UUID, first: int, after: str | None, public_only: bool
) -> Page[PickupPoint]:
    """`public_only`: the points that take orders (active, leader approved) — what anyone sees."""
    stmt = select(PickupPoint).where(PickupPoint.tenant_id == tenant_id)
    if public_only:
        stmt = stmt.join(
            Leader, and_(Leader.tenant_id == PickupPoint.tenant_id, Leader.id == PickupPoint.leader_id)
        ).where(PickupPoint.active, Leader.status == LeaderStatus.APPROVED)
    return await fetch_page(session, stmt, PickupPoint, first=first, after=after)


async def leaders_by_ids(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, Leader]:
    rows = await session.execute(select(Leader).where(Leader.tenant_id == tenant_id, col(Leader.id).in_(ids)))
    return {r.id: r for r in rows.scalars()}


async def leaders_by_users(
    session: AsyncSession, *, tenant_id: UUID, user_ids: Sequence[UUID]
) -> dict[UUID, Leader]:
    rows = await session.execute(
        select(Leader).where(Leader.tenant_id == tenant_id, col(Leader.user_id).in_(user_ids))
    )
    return {r.user_id: r for r in rows.scalars()}


async def pickup_points_by_ids(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, PickupPoint]:
    rows = await session.execute(
        select(PickupPoint).where(PickupPoint.tenant_id == tenant_id, col(PickupPoint.id).in_(ids))
    )
    return {r.id: r for r in rows.scalars()}


async def pickup_points_by_leaders(
    session: AsyncSession, *, tenant_id: UUID, leader_ids: Sequence[UUID]
) -> dict[UUID, list[PickupPoint]]:
    rows = await session.execute(
        select(PickupPoint)
        .where(PickupPoint.tenant_id == tenant_id, col(PickupPoint.leader_id).in_(leader_ids))
        .order_by(col(PickupPoint.created_at), col(PickupPoint.id))
    )
    grouped: dict[UUID, list[PickupPoint]] = defaultdict(list)
    for r in rows.scalars():
        grouped[r.leader_id].append(r)
    return grouped


async def groups_by_ids(
    session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]
) -> dict[UUID, CommunityGroup]:
    rows = await session.execute(
        select(CommunityGroup).where(CommunityGroup.tenant_id == tenant_id, col(CommunityGroup.id).in_(ids))
    )
    return {r.id: r for r in rows.scalars()}


async def groups_by_leaders(
    session: AsyncSession, *, tenant_id: UUID, leader_ids: Sequence[UUID]
) -> dict[UUID, list[CommunityGroup]]:
    rows = await session.execute(
        select(CommunityGroup)
        .where(CommunityGroup.tenant_id == tenant_id, col(CommunityGroup.leader_id).in_(leader_ids))
        .order_by(col(CommunityGroup.created_at), col(CommunityGroup.id))
    )
    grouped: dict[UUID, list[CommunityGroup]] = defaultdict(list)
    for r in rows.scalars():
        grouped[r.leader_id].append(r)
    return grouped


async def member_counts(
    session: AsyncSession, *, tenant_id: UUID, group_ids: Sequence[UUID]
) -> dict[UUID, int]:
    rows = await session.execute(
        select(col(GroupMember.group_id), func.count())
        .where(GroupMember.tenant_id == tenant_id, col(GroupMember.group_id).in_(group_ids))
        .group_by(col(GroupMember.group_id))
    )
    return {gid: n for gid, n in rows.all()}
