"""Coupon packs (券包): share-to-get.

A customer shares a pack (a share link of target COUPON_PACK, growth's share codes); a friend
whose first order carries that code gets one coupon of each of the pack's friend templates, and
the sharer one of each of its sharer templates, when that order is paid (PAID, or PICKED_UP where
customers pay at pickup). An order cancelled before payment grants nothing. Once per friend,
never past a template's per-customer limit or total quantity; coupons granted stay with their
holders if the order is refunded later. The database does the work, in the order's transaction:
coupon_pack_note() notes the reward when the order takes its share code, coupon_pack_settle()
grants it when the order's status changes (service/coupons/sql/).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.claims import COUPON_COLUMNS
from service.coupons.queries import STATUS_SQL, page
from service.errors import Collector, ErrorCode, fail
from service.growth import links
from service.i18n import msg
from service.pagination import Page
from service.validation import text_value

MAX_TEMPLATES = 10
PACK_COLUMNS = "tenant_id, id, name, friend_template_ids, sharer_template_ids, ended_at, created_at"
REWARD_COLUMNS = ("r.tenant_id, r.id, r.pack_id, r.sharer_id, r.friend_id, r.order_id, r.status, r.friend_coupons, "
                  "r.sharer_coupons, r.created_at, r.settled_at")


async def _templates(session: AsyncSession, errors: Collector, tenant_id: UUID, ids: Sequence[UUID | None],
                     field: str) -> list[UUID]:
    if not 1 <= len(ids) <= MAX_TEMPLATES:
        errors.add(ErrorCode.INVALID, msg("coupons.pack_templates", max=MAX_TEMPLATES), [field])
        return []
    wanted = [i for i in ids if i is not None]
    found = set((await session.execute(
        text("SELECT id FROM coupon_template WHERE tenant_id = :t AND id = ANY(:ids) AND ended_at IS NULL"),
        {"t": tenant_id, "ids": wanted})).scalars())
    seen: set[UUID] = set()
    for n, i in enumerate(ids):
        if i is None or i not in found:
            errors.add(ErrorCode.NOT_FOUND, "No such coupon template (or it has ended).", [field, str(n)])
        elif i in seen:
            errors.add(ErrorCode.INVALID, "Each template once.", [field, str(n)])
        else:
            seen.add(i)
    return wanted


async def create_pack(session: AsyncSession, *, tenant_id: UUID, name: str, friend_template_ids: Sequence[UUID | None],
                      sharer_template_ids: Sequence[UUID | None]) -> Any:
    errors = Collector()
    clean = text_value(errors, name, ["name"], max_length=100)
    friend = await _templates(session, errors, tenant_id, friend_template_ids, "friendTemplateIds")
    sharer = await _templates(session, errors, tenant_id, sharer_template_ids, "sharerTemplateIds")
    errors.raise_if_any()
    return (await session.execute(
        text(f"INSERT INTO coupon_pack ({PACK_COLUMNS}) VALUES (:t, :id, :name, :f, :s, NULL, clock_timestamp()) "
             f"RETURNING {PACK_COLUMNS}"),
        {"t": tenant_id, "id": uuid4(), "name": clean, "f": friend, "s": sharer})).one()


async def end_pack(session: AsyncSession, *, tenant_id: UUID, pack_id: UUID | None) -> Any:
    """No new rewards are noted; those already noted are still granted when their orders are paid."""
    # The clock as a value: Citus refuses a non-immutable function inside coalesce() in an UPDATE.
    now = (await session.execute(text("SELECT statement_timestamp()"))).scalar_one()
    row = (await session.execute(
        text(f"UPDATE coupon_pack SET ended_at = coalesce(ended_at, CAST(:now AS timestamptz)) "
             f"WHERE tenant_id = :t AND id = :id RETURNING {PACK_COLUMNS}"),
        {"t": tenant_id, "id": pack_id, "now": now})).first() if pack_id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon pack.", ["id"])
    return row


async def share(session: AsyncSession, *, tenant_id: UUID, sharer_id: UUID, pack_id: UUID | None) -> links.Share:
    """The sharer's link to the pack (the same one when shared again)."""
    if pack_id is None or (await session.execute(
            text("SELECT 1 FROM coupon_pack WHERE tenant_id = :t AND id = :id AND ended_at IS NULL"),
            {"t": tenant_id, "id": pack_id})).first() is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon pack (or it has ended).", ["packId"])
    return await links.create_link(session, tenant_id=tenant_id, sharer_id=sharer_id,
                                   target=links.ShareTarget.COUPON_PACK, target_id=pack_id)


async def packs_by_ids(session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]) -> dict[UUID, Any]:
    rows = (await session.execute(
        text(f"SELECT {PACK_COLUMNS} FROM coupon_pack WHERE tenant_id = :t AND id = ANY(:ids)"),
        {"t": tenant_id, "ids": list(ids)})).all()
    return {r.id: r for r in rows}


async def list_packs(session: AsyncSession, *, tenant_id: UUID, active: bool | None, first: int,
                     after: str | None) -> Page[Any]:
    condition = "" if active is None else (" AND ended_at IS NULL" if active else " AND ended_at IS NOT NULL")
    return await page(session, f"SELECT {PACK_COLUMNS} FROM coupon_pack WHERE tenant_id = :t{condition}",
                      {"t": tenant_id}, "created_at",
                      first=first, after=after)


_REWARDS = f"""
SELECT {REWARD_COLUMNS}, coalesce(u.display_name, '') AS friend_name
FROM coupon_pack_referral r JOIN app_user u ON u.tenant_id = r.tenant_id AND u.id = r.friend_id
"""


async def my_rewards(session: AsyncSession, *, tenant_id: UUID, sharer_id: UUID, first: int,
                     after: str | None) -> Page[Any]:
    return await page(session, _REWARDS + " WHERE r.tenant_id = :t AND r.sharer_id = :s",
                      {"t": tenant_id, "s": sharer_id}, "created_at",
                      first=first, after=after, alias="r.")


async def rewards_by_ids(session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID],
                         sharer_id: UUID | None) -> dict[UUID, Any]:
    """`sharer_id`: only that sharer's (None: an admin, any)."""
    rows = (await session.execute(
        text(_REWARDS + " WHERE r.tenant_id = :t AND r.id = ANY(:ids) "
                        "AND (CAST(:s AS uuid) IS NULL OR r.sharer_id = CAST(:s AS uuid))"),
        {"t": tenant_id, "ids": list(ids), "s": sharer_id})).all()
    return {r.id: r for r in rows}


async def earned_totals(session: AsyncSession, *, tenant_id: UUID, sharer_id: UUID) -> Any:
    return (await session.execute(text(
        "SELECT count(*) FILTER (WHERE status = 'PENDING') AS pending, "
        "count(*) FILTER (WHERE status = 'GRANTED') AS rewarded, "
        "coalesce(sum(sharer_coupons), 0)::int AS coupons FROM coupon_pack_referral "
        "WHERE tenant_id = :t AND sharer_id = :s"),
        {"t": tenant_id, "s": sharer_id})).one()


async def coupons_of_reward(session: AsyncSession, *, tenant_id: UUID, reward_id: UUID,
                            customer_id: UUID) -> list[Any]:
    """The coupons a reward gave this customer (their keys name the reward)."""
    return list((await session.execute(
        text(f"SELECT {COUPON_COLUMNS}, {STATUS_SQL} AS shown FROM coupon WHERE tenant_id = :t AND customer_id = :c "
             "AND idempotency_key LIKE :k ORDER BY claimed_at, id"),
        {"t": tenant_id, "c": customer_id, "k": f"pack:{reward_id}:%"})).all())
