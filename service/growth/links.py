"""Share links: a code per (sharer, target), the URL in the brand's front end, visits and the
bindings they make.

A code is 16 characters of `secrets.token_urlsafe` (96 bits): unguessable, and nothing in it is
derived from the sharer. The same sharer sharing the same target again gets the same link.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from urllib.parse import quote
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.errors import ErrorCode, fail
from service.growth import visit_limits
from service.tenants.principal import TenantInfo

CODE_BYTES = 12  # 96 bits of randomness, 16 URL-safe characters
CODE_RE = re.compile(r"^[A-Za-z0-9_-]{16}$")
_DIGITS = re.compile(r"\d")


class ShareTarget(str, Enum):
    BATCH = "BATCH"
    OFFER = "OFFER"
    COMMUNITY_GROUP = "COMMUNITY_GROUP"
    GROUP_BUY = "GROUP_BUY"
    COUPON_PACK = "COUPON_PACK"  # a coupon pack (券包): service/coupons/packs.py


# What must exist for a target, in the sharer's tenant.
_EXISTS = {
    ShareTarget.BATCH: "SELECT 1 FROM batch WHERE tenant_id = :t AND id = :id AND status <> 'DRAFT'",
    ShareTarget.OFFER: "SELECT 1 FROM offer o JOIN batch b ON b.tenant_id = o.tenant_id AND b.id = o.batch_id "
                       "WHERE o.tenant_id = :t AND o.id = :id AND b.status <> 'DRAFT'",
    ShareTarget.COMMUNITY_GROUP: "SELECT 1 FROM community_group WHERE tenant_id = :t AND id = :id",
    ShareTarget.COUPON_PACK: "SELECT 1 FROM coupon_pack WHERE tenant_id = :t AND id = :id AND ended_at IS NULL",
    ShareTarget.GROUP_BUY: "SELECT 1 FROM group_buy WHERE tenant_id = :t AND id = :id",
}


@dataclass(frozen=True)
class Share:
    id: UUID
    code: str
    sharer_id: UUID
    sharer_name: str
    target: ShareTarget
    target_id: UUID
    created_at: datetime
    # For the URL: the community group's invite code when the target is one.
    invite_code: str | None = None


def new_code() -> str:
    return secrets.token_urlsafe(CODE_BYTES)


def public_name(name: str | None) -> str:
    """The sharer's name as strangers see it: a name that carries digits (a phone number used as a
    name) is cut to its first character, so a share never reveals a phone."""
    name = (name or "").strip()
    if not name:
        return "*"
    if len(_DIGITS.findall(name)) >= 4:
        return name[0] + "***"
    return name


_SELECT = """
SELECT s.id, s.code, s.sharer_id, coalesce(l.display_name, u.display_name) AS sharer_name, s.target,
       s.target_id, s.created_at, g.invite_code
FROM share_link s
JOIN app_user u ON u.tenant_id = s.tenant_id AND u.id = s.sharer_id
LEFT JOIN leader l ON l.tenant_id = s.tenant_id AND l.user_id = s.sharer_id
LEFT JOIN community_group g ON s.target = 'COMMUNITY_GROUP' AND g.tenant_id = s.tenant_id AND g.id = s.target_id
"""


def _share(row: object) -> Share:
    return Share(id=row.id, code=row.code, sharer_id=row.sharer_id,  # type: ignore[attr-defined]  # a Row
                 sharer_name=public_name(row.sharer_name), target=ShareTarget(row.target),  # type: ignore[attr-defined]  # a Row
                 target_id=row.target_id, created_at=row.created_at,  # type: ignore[attr-defined]  # a Row
                 invite_code=row.invite_code)  # type: ignore[attr-defined]  # a Row


async def create_link(session: AsyncSession, *, tenant_id: UUID, sharer_id: UUID, target: ShareTarget,
                      target_id: UUID | None) -> Share:
    """The sharer's link to the target (the same one when shared before); NOT_FOUND for a target
    that is not in this tenant."""
    if target_id is None or (await session.execute(text(_EXISTS[target]), {"t": tenant_id, "id": target_id})
                             ).first() is None:
        raise fail(ErrorCode.NOT_FOUND, "Nothing to share with this ID.", ["targetId"])
    params = {"t": tenant_id, "sharer": sharer_id, "target": target.value, "target_id": target_id}
    for _ in range(3):  # a code collision (2^-96) or a concurrent first share: read or try again
        async with session.begin_nested():
            try:
                await session.execute(text(
                    "INSERT INTO share_link (tenant_id, id, code, sharer_id, target, target_id) "
                    "VALUES (:t, gen_random_uuid(), :code, :sharer, :target, :target_id) "
                    "ON CONFLICT (tenant_id, sharer_id, target, target_id) DO NOTHING"),
                    {**params, "code": new_code()})
            except IntegrityError:
                continue
        row = (await session.execute(text(_SELECT + " WHERE s.tenant_id = :t AND s.sharer_id = :sharer "
                                          "AND s.target = :target AND s.target_id = :target_id"), params)).first()
        if row is not None:
            return _share(row)
    raise RuntimeError("could not create a share link")


async def by_code(session: AsyncSession, *, tenant_id: UUID, code: str) -> Share | None:
    if not CODE_RE.match(code or ""):
        return None
    row = (await session.execute(text(_SELECT + " WHERE s.tenant_id = :t AND s.code = :code"),
                                 {"t": tenant_id, "code": code})).first()
    return _share(row) if row is not None else None


async def record_visit(session: AsyncSession, *, tenant_id: UUID, code: str,
                       visitor_id: UUID | None, address: str | None = None) -> Share:
    """A visit; a signed-in visitor who registered within the attribution window is bound to the
    sharer (the binding rules are referral_bind()'s: no self-referral, no cycles, FIRST/LATEST).
    Visits from one client `address` are limited per code (visit_limits: RATE_LIMITED)."""
    share = await by_code(session, tenant_id=tenant_id, code=code)
    if share is None:
        raise fail(ErrorCode.NOT_FOUND, "No such share code.", ["code"])
    await visit_limits.take_visit(tenant_id, address, share.code)
    await session.execute(text(
        "INSERT INTO share_visit (tenant_id, id, share_link_id, visitor_id) VALUES (:t, gen_random_uuid(), :l, :v)"),
        {"t": tenant_id, "l": share.id, "v": visitor_id})
    # Asked first, then bound by a call of its own: on Citus referral_bind() cannot run inside a
    # query over a shard (its statements go through the coordinator).
    if visitor_id is not None and (await session.execute(text("""
SELECT 1 FROM app_user u JOIN tenant t ON t.id = u.tenant_id
WHERE u.tenant_id = :t AND u.id = :v AND u.kind = 'CUSTOMER'
  AND u.created_at >= clock_timestamp() - make_interval(days => t.attribution_window_days)
"""), {"t": tenant_id, "v": visitor_id})).first() is not None:
        await session.execute(text("SELECT referral_bind(:t, :v, :l)"),
                              {"t": tenant_id, "l": share.id, "v": visitor_id})
    return share


async def bind_registered(session: AsyncSession, *, tenant_id: UUID, customer_id: UUID, code: str) -> Share:
    """A customer registering through a share link: bound to its sharer now (referral_bind()'s
    rules), not only at their first order. The opening was the visit: none is added."""
    share = await by_code(session, tenant_id=tenant_id, code=code)
    if share is None:
        raise fail(ErrorCode.NOT_FOUND, "No such share code.", ["input", "shareCode"])
    await session.execute(text("SELECT referral_bind(:t, :c, :l)"), {"t": tenant_id, "c": customer_id, "l": share.id})
    return share


async def snapshot(session: AsyncSession, *, tenant_id: UUID, order_id: UUID, code: str) -> int:
    """referral_snapshot() in the order's transaction: the levels written (0 to 2)."""
    if not CODE_RE.match(code or ""):
        raise fail(ErrorCode.NOT_FOUND, "No such share code.", ["input", "shareCode"])
    return int((await session.execute(text("SELECT referral_snapshot(:t, :o, :c)"),
                                      {"t": tenant_id, "o": order_id, "c": code})).scalar_one())


def url_of(tenant: TenantInfo, share: Share, base_url: str) -> str:
    """The link into the brand's front end (tenant.front_end_url_template), else the reference
    storefront; the share code rides along as `share=`."""
    template = tenant.front_end_url_template
    code = quote(share.code, safe="")
    if template:
        values = {"{tenant}": tenant.slug, "{batchId}": "", "{offerId}": "", "{orderId}": "", "{groupCode}": "",
                  "{leaderId}": "", "{groupBuyId}": ""}
        if share.target is ShareTarget.GROUP_BUY:
            values["{groupBuyId}"] = global_id.encode("GroupBuy", share.target_id)
        if share.target is ShareTarget.BATCH:
            values["{batchId}"] = str(share.target_id)
        elif share.target is ShareTarget.OFFER:
            values["{offerId}"] = str(share.target_id)
        elif share.target is ShareTarget.COMMUNITY_GROUP:
            values["{groupCode}"] = share.invite_code or ""
        url = template
        for key, value in values.items():
            url = url.replace(key, quote(value, safe=""))
        base, hash_, fragment = url.partition("#")
        return base + ("&" if "?" in base else "?") + f"share={code}" + hash_ + fragment
    fragment = f"#/join/{quote(share.invite_code, safe='')}" if share.invite_code else "#/"
    if share.target is ShareTarget.GROUP_BUY:  # the storefront's group page, where a friend joins
        fragment = "#/group/" + quote(global_id.encode("GroupBuy", share.target_id), safe="")
    return f"{base_url.rstrip('/')}/shop/{quote(tenant.slug, safe='')}/?share={code}{fragment}"


def front_end_url(tenant: TenantInfo, base_url: str, *, group_code: str, leader_id: str) -> str:
    """A community group's link into the brand's front end (its template), else the storefront."""
    template = tenant.front_end_url_template
    if not template:
        return f"{base_url.rstrip('/')}/shop/{quote(tenant.slug, safe='')}/#/"
    values = {"{tenant}": tenant.slug, "{batchId}": "", "{offerId}": "", "{orderId}": "", "{groupCode}": group_code,
              "{leaderId}": leader_id, "{groupBuyId}": ""}
    for key, value in values.items():
        template = template.replace(key, quote(value, safe=""))
    return template
