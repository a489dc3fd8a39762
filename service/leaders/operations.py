"""Leaders, their pickup points and community groups: the operations behind the mutations,
and the two questions the ordering code asks of this domain (where may a customer order, and
which leader is the order attributed to).

Referenced IDs arrive already decoded; `None` means the caller sent something that is not one
of our IDs of the right type, which is reported exactly like an ID that does not exist here.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import exists
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.accounts.models import Tenant
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg
from service.leaders.models import CommunityGroup, GroupMember, Leader, LeaderStatus, PickupPoint
from service.validation import phone_value, rate_value, text_value

# Crockford-style alphabet: no 0/O or 1/I/L to misread when a code is typed from a chat message.
INVITE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
INVITE_LENGTH = 10  # 31**10 ≈ 8e14 codes: guessing one in a tenant is hopeless


# -- leaders -----------------------------------------------------------------------------------


async def apply_as_leader(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, display_name: str, phone: str
) -> Leader:
    """A customer's application; one per user per tenant, whatever became of the first."""
    errors = Collector()
    clean_name = text_value(errors, display_name, ["displayName"], max_length=100)
    clean_phone = phone_value(errors, phone, ["phone"])
    if clean_phone is None and not errors.errors:
        errors.add(ErrorCode.INVALID, "A phone number is required.", ["phone"])
    errors.raise_if_any()
    leader = Leader(
        tenant_id=tenant_id,
        user_id=user_id,
        display_name=clean_name or "",
        phone=clean_phone or "",
        status=LeaderStatus.PENDING,
    )
    already = fail(ErrorCode.ALREADY_EXISTS, "You have already applied to be a leader.")
    if (
        await session.execute(
            select(col(Leader.id)).where(Leader.tenant_id == tenant_id, Leader.user_id == user_id)
        )
    ).first():
        raise already
    session.add(leader)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:  # a concurrent application by the same user won the unique key
        raise already from None
    return leader


async def _leader_for_update(session: AsyncSession, tenant_id: UUID, leader_id: UUID | None) -> Leader:
    leader = (
        (
            await session.execute(
                select(Leader).where(Leader.tenant_id == tenant_id, Leader.id == leader_id).with_for_update()
            )
        ).scalar_one_or_none()
        if leader_id
        else None
    )
    if leader is None:
        raise fail(ErrorCode.NOT_FOUND, "No such leader.", ["id"])
    return leader


async def approve_leader(
    session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None, commission_rate: Decimal | None = None
) -> Leader:
    """PENDING or SUSPENDED → APPROVED; on an approved leader it only changes the rate.

    Without a rate, a first approval takes the tenant's default and a later one keeps the rate.
    """
    errors = Collector()
    rate = rate_value(errors, commission_rate, ["commissionRate"])
    errors.raise_if_any()
    leader = await _leader_for_update(session, tenant_id, leader_id)
    if leader.status == LeaderStatus.REJECTED:
        raise fail(ErrorCode.CONFLICT, "A rejected application cannot be approved.", ["id"])
    if rate is None and leader.commission_rate is None:
        rate = (
            await session.execute(select(col(Tenant.default_commission_rate)).where(Tenant.id == tenant_id))
        ).scalar_one()
    if rate is not None:
        leader.commission_rate = rate
    if leader.status != LeaderStatus.APPROVED:
        leader.status = LeaderStatus.APPROVED
        leader.status_reason = None
        leader.approved_at = datetime.now(UTC)
    await session.flush()
    return leader


async def reject_leader(
    session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None, reason: str
) -> Leader:
    """PENDING → REJECTED (an approved leader is suspended instead, which keeps the history)."""
    errors = Collector()
    clean_reason = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    leader = await _leader_for_update(session, tenant_id, leader_id)
    if leader.status not in (LeaderStatus.PENDING, LeaderStatus.REJECTED):
        raise fail(ErrorCode.CONFLICT, "Only a pending application can be rejected.", ["id"])
    leader.status = LeaderStatus.REJECTED
    leader.status_reason = clean_reason
    await session.flush()
    return leader


async def suspend_leader(
    session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None, reason: str
) -> Leader:
    """The leader's points stop taking orders and leave public lists at once (both read the
    leader's status); orders already placed are untouched."""
    errors = Collector()
    clean_reason = text_value(errors, reason, ["reason"], max_length=500)
    errors.raise_if_any()
    leader = await _leader_for_update(session, tenant_id, leader_id)
    if leader.status == LeaderStatus.REJECTED:
        raise fail(ErrorCode.CONFLICT, "A rejected application cannot be suspended.", ["id"])
    leader.status = LeaderStatus.SUSPENDED
    leader.status_reason = clean_reason
    await session.flush()
    return leader


async def reinstate_leader(session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None) -> Leader:
    """SUSPENDED → APPROVED with the rate it had: its active points take orders and show again."""
    leader = await _leader_for_update(session, tenant_id, leader_id)
    if leader.status != LeaderStatus.SUSPENDED:
        raise fail(ErrorCode.CONFLICT, msg("leaders.reinstate_suspended", status=f"{leader.status}"),
                   ["id"])
    leader.status = LeaderStatus.APPROVED
    leader.status_reason = None
    await session.flush()
    return leader


async def approved_leader_of_user(session: AsyncSession, *, tenant_id: UUID, user_id: UUID) -> Leader | None:
    return (
        await session.execute(
            select(Leader).where(
                Leader.tenant_id == tenant_id,
                Leader.user_id == user_id,
                Leader.status == LeaderStatus.APPROVED,
            )
        )
    ).scalar_one_or_none()


# -- pickup points -----------------------------------------------------------------------------


@dataclass
class PickupPointFields:
    name: str
    address: str
    latitude: float
    longitude: float
    opening_hours: str | None = None
    active: bool = True


def _coordinate(errors: Collector, value: float, field: str, limit: float) -> None:
    if value is None or not math.isfinite(value) or not -limit <= value <= limit:
        errors.add(ErrorCode.INVALID, msg("leaders.coordinate_between", limit=f"{limit:g}"), [field])


def _clean_point(errors: Collector, fields: PickupPointFields) -> dict[str, Any]:
    clean = {
        "name": text_value(errors, fields.name, ["name"], max_length=200),
        "address": text_value(errors, fields.address, ["address"], max_length=500),
        "opening_hours": text_value(
            errors, fields.opening_hours, ["openingHours"], max_length=200, required=False
        ),
        "latitude": fields.latitude,
        "longitude": fields.longitude,
        "active": bool(fields.active),
    }
    _coordinate(errors, fields.latitude, "latitude", 90)
    _coordinate(errors, fields.longitude, "longitude", 180)
    return clean


async def create_pickup_point(
    session: AsyncSession, *, tenant_id: UUID, leader_id: UUID | None, fields: PickupPointFields
) -> PickupPoint:
    """The caller has already decided whose point this may be (own, or any for admins)."""
    errors = Collector()
    if leader_id is None or await session.get(Leader, (tenant_id, leader_id)) is None:
        errors.add(ErrorCode.NOT_FOUND, "No such leader.", ["leaderId"])
    clean = _clean_point(errors, fields)
    errors.raise_if_any()
    assert leader_id is not None  # a missing leader was reported above
    point = PickupPoint(tenant_id=tenant_id, leader_id=leader_id, **clean)
    session.add(point)
    await session.flush()
    return point


async def pickup_point_for_update(
    session: AsyncSession, *, tenant_id: UUID, point_id: UUID | None
) -> PickupPoint:
    point = (
        (
            await session.execute(
                select(PickupPoint)
                .where(PickupPoint.tenant_id == tenant_id, PickupPoint.id == point_id)
                .with_for_update()
            )
        ).scalar_one_or_none()
        if point_id
        else None
    )
    if point is None:
        raise fail(ErrorCode.NOT_FOUND, "No such pickup point.", ["id"])
    return point


async def update_pickup_point(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    point: PickupPoint,
    leader_id: UUID | None,
    leader_id_given: bool,
    fields: PickupPointFields,
) -> PickupPoint:
    """Replaces the point's fields; a point stays with its leader (orders and commissions refer
    to it), so a different `leaderId` is refused rather than silently ignored."""
    errors = Collector()
    if leader_id_given and leader_id != point.leader_id:
        if leader_id is None or await session.get(Leader, (tenant_id, leader_id)) is None:
            errors.add(ErrorCode.NOT_FOUND, "No such leader.", ["leaderId"])
        else:
            errors.add(ErrorCode.INVALID, "A pickup point cannot move to another leader.", ["leaderId"])
    clean = _clean_point(errors, fields)
    errors.raise_if_any()
    for key, value in clean.items():
        setattr(point, key, value)
    await session.flush()
    return point


async def deactivate_pickup_point(session: AsyncSession, *, point: PickupPoint) -> PickupPoint:
    """The point takes no new orders and leaves public lists; its orders and pick lists stay.
    Deactivating an inactive point is not an error."""
    point.active = False
    await session.flush()
    return point


def is_public(status: LeaderStatus | str, active: bool) -> bool:
    """A point takes orders and shows in public lists only when active and its leader approved."""
    return active and status == LeaderStatus.APPROVED


async def orderable_pickup_point(
    session: AsyncSession, *, tenant_id: UUID, pickup_point_id: UUID
) -> PickupPoint | None:
    """For the ordering code: the point, if it takes orders right now (active, leader APPROVED).

    Locks the leader's row in SHARE mode so a concurrent `leaderSuspend` either commits before
    the order (and the order is refused) or waits for the order's transaction to finish.
    """
    row = (
        await session.execute(
            select(PickupPoint)
            .join(Leader, (col(Leader.tenant_id) == PickupPoint.tenant_id) & (col(Leader.id) == PickupPoint.leader_id))
            .where(
                PickupPoint.tenant_id == tenant_id,
                PickupPoint.id == pickup_point_id,
                PickupPoint.active,
                Leader.status == LeaderStatus.APPROVED,
            )
            .with_for_update(read=True, of=Leader)
        )
    ).scalar_one_or_none()
    return row


# -- community groups --------------------------------------------------------------------------


def new_invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(INVITE_LENGTH))


def normalise_invite_code(code: str) -> str:
    return "".join(code.split()).upper().replace("-", "")


async def create_community_group(
    session: AsyncSession, *, tenant_id: UUID, leader_id: UUID, name: str
) -> CommunityGroup:
    errors = Collector()
    clean_name = text_value(errors, name, ["name"], max_length=100)
    errors.raise_if_any()
    for _ in range(5):  # a collision is astronomically rare; retry rather than fail
        group = CommunityGroup(
            tenant_id=tenant_id, leader_id=leader_id, name=clean_name or "", invite_code=new_invite_code()
        )
        session.add(group)
        try:
            async with session.begin_nested():
                await session.flush()
            return group
        except IntegrityError:
            session.expunge(group)
    raise RuntimeError("could not draw a unique invite code")


async def join_community_group(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, invite_code: str
) -> CommunityGroup:
    """Idempotent: joining a group twice is not an error and the member counts once."""
    code = normalise_invite_code(invite_code or "")
    group = (
        (
            await session.execute(
                select(CommunityGroup).where(
                    CommunityGroup.tenant_id == tenant_id, CommunityGroup.invite_code == code
                )
            )
        ).scalar_one_or_none()
        if code
        else None
    )
    if group is None:
        raise fail(ErrorCode.NOT_FOUND, "No group has this invite code.", ["inviteCode"])
    status = (
        await session.execute(
            select(col(Leader.status)).where(Leader.tenant_id == tenant_id, Leader.id == group.leader_id)
        )
    ).scalar_one()
    if status != LeaderStatus.APPROVED:
        raise fail(ErrorCode.CONFLICT, "This group's leader is not active.", ["inviteCode"])
    await session.execute(
        insert(GroupMember)
        .values(tenant_id=tenant_id, group_id=group.id, user_id=user_id)
        .on_conflict_do_nothing(index_elements=["tenant_id", "group_id", "user_id"])
    )
    return group


async def attributed_leader(
    session: AsyncSession, *, tenant_id: UUID, user_id: UUID, leader_id: UUID
) -> bool:
    """For the ordering and commission code: is an order by `user_id` at one of `leader_id`'s
    pickup points attributed to that leader? It is when the customer belongs to one of that
    leader's community groups (joined with the invite code). Record the answer on the order
    when it is placed: leaving a group later does not rewrite history.
    """
    member = exists().where(
        col(GroupMember.tenant_id) == tenant_id,
        col(GroupMember.user_id) == user_id,
        col(CommunityGroup.tenant_id) == GroupMember.tenant_id,
        col(CommunityGroup.id) == GroupMember.group_id,
        col(CommunityGroup.leader_id) == leader_id,
    )
    return bool((await session.execute(select(member))).scalar())
