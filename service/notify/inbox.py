"""A user's in-app notifications: newest first, keyset pages, marking read (own only)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.notify.models import Notification
from service.pagination import Page, check_first, decode_cursor, encode_cursor


async def notification_page(
    session: AsyncSession,
    *,
    tenant_id: UUID,
    user_id: UUID,
    unread_only: bool,
    first: int,
    after: str | None,
) -> Page[Notification]:
    check_first(first)
    stmt = select(Notification).where(Notification.tenant_id == tenant_id, Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    listed = stmt
    if after:
        created, id_ = decode_cursor(after)
        stmt = stmt.where(tuple_(col(Notification.created_at), col(Notification.id)) < tuple_(created, id_))
    stmt = stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(first + 1)
    rows = list((await session.execute(stmt)).scalars().all())
    has_next = len(rows) > first
    rows = rows[:first]
    return Page(items=rows, cursors=[encode_cursor(r.created_at, r.id) for r in rows], has_next=has_next,
                listed=listed, has_previous=bool(after))


async def get_own(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, id: UUID) -> Notification | None:
    row = await session.get(Notification, (tenant_id, id))
    return row if row is not None and row.user_id == user_id else None


async def mark_read(session: AsyncSession, *, tenant_id: UUID, user_id: UUID, id: UUID) -> bool:
    """True when the notification is the user's own (read now or already); false for anything else."""
    found = (
        await session.execute(
            text(
                "WITH marked AS (UPDATE notification SET read_at = statement_timestamp() "
                "WHERE tenant_id = :tenant_id AND id = :id AND user_id = :user_id AND read_at IS NULL RETURNING id) "
                "SELECT id FROM notification WHERE tenant_id = :tenant_id AND id = :id AND user_id = :user_id"
            ),
            {"tenant_id": tenant_id, "id": id, "user_id": user_id},
        )
    ).first()
    return found is not None
