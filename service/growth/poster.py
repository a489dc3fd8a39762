"""The share poster: a PNG with the brand, the batch's title, the sharer's (or the group's
leader's) pickup point, three offers with prices, the cutoff, and a QR code of the share link.
A 拼团's poster shows its group size, its batch, and its offer first.

Chinese text is drawn with the system's WenQuanYi Micro Hei (Debian: fonts-wqy-microhei, which
`make test` and `make run` install or name): nothing is fetched. Without it the poster is still
drawn, with Pillow's built-in font (Chinese glyphs missing), and a warning is logged once.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote
from uuid import UUID
from zoneinfo import ZoneInfo

import segno
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.growth.links import Share, ShareTarget
from service.money import from_minor
from service.tenants.principal import TenantInfo

log = logging.getLogger(__name__)
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
WIDTH, HEIGHT = 750, 1180
BRAND = (22, 128, 61)
INK = (32, 33, 36)
MUTED = (95, 99, 104)
PAPER = (255, 255, 255)


def poster_path(slug: str, code: str) -> str:
    return f"/shop/{quote(slug, safe='')}/share/{quote(code, safe='')}/poster.png"


@dataclass
class PosterData:
    brand: str
    title: str
    point: str | None
    cutoff: str | None
    url: str
    offers: list[tuple[str, str]] = field(default_factory=list)  # (name, price)


# The shared thing's batch, the offer the poster lists first, and a 拼团's size.
_BATCH_OF = {
    ShareTarget.BATCH: "SELECT id AS batch_id, NULL::uuid AS offer_id, NULL::int AS size FROM batch "
                       "WHERE tenant_id = :t AND id = :id",
    ShareTarget.OFFER: "SELECT batch_id, id AS offer_id, NULL::int AS size FROM offer "
                       "WHERE tenant_id = :t AND id = :id",
    ShareTarget.GROUP_BUY: "SELECT batch_id, offer_id, size::int AS size FROM group_buy "
                           "WHERE tenant_id = :t AND id = :id",
}


async def poster_data(session: AsyncSession, *, tenant: TenantInfo, share: Share, url: str) -> PosterData:
    t = tenant.id
    batch_id: UUID | None = None
    first_offer: UUID | None = None
    group_size: int | None = None
    query = _BATCH_OF.get(share.target)
    if query is not None:
        found = (await session.execute(text(query), {"t": t, "id": share.target_id})).first()
        if found is not None:
            batch_id, first_offer, group_size = found.batch_id, found.offer_id, found.size
    if share.target is ShareTarget.COMMUNITY_GROUP:
        group = (await session.execute(text(
            "SELECT g.name, l.user_id FROM community_group g JOIN leader l ON l.tenant_id = g.tenant_id "
            "AND l.id = g.leader_id WHERE g.tenant_id = :t AND g.id = :id"), {"t": t, "id": share.target_id})).first()
        point_of = group.user_id if group else share.sharer_id
        title = group.name if group else ""
    else:
        point_of, title = share.sharer_id, f"{group_size}人团 Group of {group_size}" if group_size else ""
    # The sharer's own point when they lead one; a group's poster shows its leader's point.
    point = (await session.execute(text(
        "SELECT p.name || ' · ' || p.address FROM pickup_point p JOIN leader l ON l.tenant_id = p.tenant_id "
        "AND l.id = p.leader_id WHERE p.tenant_id = :t AND l.user_id = :u AND p.active "
        "ORDER BY p.created_at, p.id LIMIT 1"), {"t": t, "u": point_of})).scalar()
    data = PosterData(brand=tenant.name, title=title, point=point, cutoff=None, url=url)
    if batch_id is None:  # a group's poster: its next open batch, if any
        batch_id = (await session.execute(text(
            "SELECT id FROM batch WHERE tenant_id = :t AND status IN ('OPEN', 'SCHEDULED') "
            "ORDER BY closes_at, id LIMIT 1"), {"t": t})).scalar()
    if batch_id is not None:
        batch = (await session.execute(text("SELECT title, closes_at FROM batch WHERE tenant_id = :t AND id = :b"),
                                       {"t": t, "b": batch_id})).one()
        data.title = data.title or batch.title
        if data.title != batch.title:
            data.title = f"{data.title} · {batch.title}"
        data.cutoff = _local(batch.closes_at, tenant.timezone)
        offers = (await session.execute(text(
            "SELECT p.name, o.price_minor FROM offer o JOIN product p ON p.tenant_id = o.tenant_id "
            "AND p.id = o.product_id WHERE o.tenant_id = :t AND o.batch_id = :b "
            "ORDER BY (o.id = :first) DESC, o.position, o.id LIMIT 3"),
            {"t": t, "b": batch_id, "first": first_offer})).all()
        data.offers = [(r.name, f"¥{from_minor(r.price_minor, tenant.currency)}" if tenant.currency == "CNY"
                        else f"{from_minor(r.price_minor, tenant.currency)} {tenant.currency}") for r in offers]
    return data


def _local(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if FONT_PATH.is_file():
        return ImageFont.truetype(str(FONT_PATH), size)
    log.warning("poster font %s missing (Debian: apt-get install fonts-wqy-microhei): Chinese text will not "
                "render", FONT_PATH)
    return ImageFont.load_default(size)


def font_available() -> bool:
    return FONT_PATH.is_file()


def _fit(draw: ImageDraw.ImageDraw, value: str, size: int, width: int) -> str:
    """The text cut (with …) to fit `width` pixels."""
    font = _font(size)
    if draw.textlength(value, font=font) <= width:
        return value
    while value and draw.textlength(value + "…", font=font) > width:
        value = value[:-1]
    return value + "…"


def render(data: PosterData) -> bytes:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 150), fill=BRAND)
    draw.text((40, 42), _fit(draw, data.brand, 44, WIDTH - 80), font=_font(44), fill=PAPER)
    y = 180
    draw.text((40, y), _fit(draw, data.title, 36, WIDTH - 80), font=_font(36), fill=INK)
    y += 60
    if data.point:
        draw.text((40, y), _fit(draw, f"自提点 Pickup: {data.point}", 24, WIDTH - 80), font=_font(24), fill=MUTED)
        y += 44
    y += 10
    for name, price in data.offers:
        draw.rounded_rectangle((40, y, WIDTH - 40, y + 84), radius=14, outline=(220, 224, 228), width=2)
        draw.text((64, y + 24), _fit(draw, name, 30, WIDTH - 300), font=_font(30), fill=INK)
        price_width = draw.textlength(price, font=_font(34))
        draw.text((WIDTH - 64 - price_width, y + 22), price, font=_font(34), fill=(200, 40, 40))
        y += 100
    if data.cutoff:
        draw.text((40, y + 6), f"截单 Cutoff: {data.cutoff}", font=_font(26), fill=INK)
    qr = segno.make(data.url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=8, border=2)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    side = 320
    code = code.resize((side, side), Image.Resampling.NEAREST)
    top = HEIGHT - side - 110
    image.paste(code, ((WIDTH - side) // 2, top))
    hint = "长按识别二维码 · Scan to order"
    draw.text(((WIDTH - draw.textlength(hint, font=_font(24))) / 2, top + side + 24), hint, font=_font(24),
              fill=MUTED)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
