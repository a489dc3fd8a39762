"""Reads of social growth: a distributor's referrals and commissions, and the per-sharer report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.pagination import Page, check_first, decode_cursor, encode_cursor


def mask_name(name: str | None) -> str:
    """A referral as its referrer sees it: the first character, then stars (张** / A***)."""
    name = (name or "").strip()
    if not name:
        return "***"
    return name[0] + "*" * min(max(len(name) - 1, 2), 3)


@dataclass(frozen=True)
class Referral:
    id: UUID  # the binding's
    customer_name: str
    bound_at: datetime
    level: int
    orders: int
    gmv_minor: int
    commission_minor: int

    @property
    def created_at(self) -> datetime:
        return self.bound_at


# The referrer's bindings in force (level 1) and those of their level-1 referrals (level 2). Per
# referral, its confirmed orders that name the referrer at that level, as the close reads the chain:
# the order's snapshot, else the bindings in force when it was placed (both current here, so: placed
# since the later of them began); their goods value; and the distribution commission they paid the
# referrer. Orders count with distribution on or off.
_REFERRALS = """
WITH mine AS (
  SELECT b.id, b.customer_id, b.bound_at, b.bound_at AS since, 1 AS level FROM referral_binding b
  WHERE b.tenant_id = :t AND b.referrer_id = :me AND b.superseded_at IS NULL
  UNION ALL
  SELECT b2.id, b2.customer_id, b2.bound_at, greatest(b1.bound_at, b2.bound_at), 2 FROM referral_binding b1
  JOIN referral_binding b2 ON b2.tenant_id = b1.tenant_id AND b2.referrer_id = b1.customer_id
   AND b2.superseded_at IS NULL AND b2.tenant_id = :t
  WHERE b1.tenant_id = :t AND b1.referrer_id = :me AND b1.superseded_at IS NULL AND b2.customer_id <> :me
)
SELECT m.id, m.customer_id, m.bound_at, m.level, u.display_name, bought.orders, bought.gmv,
       (SELECT coalesce(sum(c.amount_minor), 0) FROM distribution_commission c WHERE c.tenant_id = :t
          AND c.beneficiary_id = :me AND c.customer_id = m.customer_id) AS commission
FROM mine m JOIN app_user u ON u.tenant_id = :t AND u.id = m.customer_id
CROSS JOIN LATERAL (
  SELECT count(*) AS orders,
         coalesce(sum((SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) FROM order_line l
                       WHERE l.tenant_id = :t AND l.order_id = o.id AND l.status = 'ACTIVE')), 0) AS gmv
  FROM customer_order o
  WHERE o.tenant_id = :t AND o.customer_id = m.customer_id AND o.status NOT IN ('PENDING_PAYMENT', 'CANCELLED')
    AND CASE WHEN EXISTS (SELECT 1 FROM order_referral r WHERE r.tenant_id = :t AND r.order_id = o.id)
             THEN EXISTS (SELECT 1 FROM order_referral r WHERE r.tenant_id = :t AND r.order_id = o.id
                            AND r.level = m.level AND r.referrer_id = :me)
             ELSE o.created_at >= m.since END
) bought
WHERE (CAST(:after_at AS timestamptz) IS NULL
       OR (m.bound_at, m.id) > (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))
ORDER BY m.bound_at, m.id
LIMIT :limit
"""


async def referrals(session: AsyncSession, *, tenant_id: UUID, referrer_id: UUID, first: int,
                    after: str | None) -> Page[Referral]:
    check_first(first)
    after_at, after_id = decode_cursor(after) if after else (None, None)
    rows = (await session.execute(text(_REFERRALS), {
        "t": tenant_id, "me": referrer_id, "after_at": after_at, "after_id": after_id, "limit": first + 1})).all()
    items = [Referral(id=r.id, customer_name=mask_name(r.display_name), bound_at=r.bound_at, level=int(r.level),
                      orders=int(r.orders), gmv_minor=int(r.gmv), commission_minor=int(r.commission))
             for r in rows[:first]]
    return Page(items=items, cursors=[encode_cursor(i.bound_at, i.id) for i in items], has_next=len(rows) > first)


async def referral_by_id(session: AsyncSession, *, tenant_id: UUID, referrer_id: UUID,
                         binding_id: UUID) -> Referral | None:
    """One of the referrer's referrals; None when the binding is not theirs (or not in force)."""
    rows = (await session.execute(text(_REFERRALS.replace("ORDER BY", "AND m.id = :id ORDER BY")), {
        "t": tenant_id, "me": referrer_id, "after_at": None, "after_id": None, "limit": 1, "id": binding_id})).all()
    for r in rows:
        return Referral(id=r.id, customer_name=mask_name(r.display_name), bound_at=r.bound_at,
                        level=int(r.level), orders=int(r.orders), gmv_minor=int(r.gmv),
                        commission_minor=int(r.commission))
    return None


@dataclass(frozen=True)
class Earning:
    id: UUID
    order_id: UUID
    order_number: str
    level: int
    status: str
    currency: str
    amount_minor: int
    reversed_minor: int
    goods_minor: int
    created_at: datetime
    earned_at: datetime | None
    reversed_at: datetime | None
    beneficiary_name: str


_EARNINGS = """
SELECT c.id, c.order_id, o.number, c.level, c.status, c.currency, c.amount_minor, c.reversed_minor,
       (SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) FROM order_line l JOIN distribution_commission_line d
          ON d.tenant_id = l.tenant_id AND d.order_line_id = l.id AND d.level = c.level
          WHERE l.tenant_id = :t AND d.tenant_id = :t AND l.order_id = c.order_id) AS goods,
       c.created_at, c.earned_at, c.reversed_at, u.display_name
FROM distribution_commission c
JOIN customer_order o ON o.tenant_id = c.tenant_id AND o.id = c.order_id AND o.tenant_id = :t
JOIN app_user u ON u.tenant_id = c.tenant_id AND u.id = c.beneficiary_id AND u.tenant_id = :t
WHERE c.tenant_id = :t AND c.beneficiary_id = :me
  AND (CAST(:after_at AS timestamptz) IS NULL
       OR (c.created_at, c.id) > (CAST(:after_at AS timestamptz), CAST(:after_id AS uuid)))
ORDER BY c.created_at, c.id
LIMIT :limit
"""


async def earnings(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID, first: int,
                   after: str | None) -> Page[Earning]:
    check_first(first)
    after_at, after_id = decode_cursor(after) if after else (None, None)
    rows = (await session.execute(text(_EARNINGS), {
        "t": tenant_id, "me": beneficiary_id, "after_at": after_at, "after_id": after_id,
        "limit": first + 1})).all()
    items = [Earning(id=r.id, order_id=r.order_id, order_number=r.number, level=int(r.level), status=r.status,
                     currency=r.currency, amount_minor=int(r.amount_minor), reversed_minor=int(r.reversed_minor),
                     goods_minor=int(r.goods), created_at=r.created_at, earned_at=r.earned_at,
                     reversed_at=r.reversed_at, beneficiary_name=r.display_name) for r in rows[:first]]
    return Page(items=items, cursors=[encode_cursor(i.created_at, i.id) for i in items], has_next=len(rows) > first)


@dataclass(frozen=True)
class EarningsSummary:
    pending_minor: int
    earned_minor: int
    reversed_minor: int


async def earnings_summary(session: AsyncSession, *, tenant_id: UUID, beneficiary_id: UUID) -> EarningsSummary:
    row = (await session.execute(text(
        "SELECT coalesce(sum(amount_minor) FILTER (WHERE status = 'PENDING'), 0) AS pending, "
        "coalesce(sum(amount_minor) FILTER (WHERE status IN ('EARNED', 'REVERSED')), 0) AS earned, "
        "coalesce(sum(reversed_minor), 0) AS reversed "
        "FROM distribution_commission WHERE tenant_id = :t AND beneficiary_id = :me"),
        {"t": tenant_id, "me": beneficiary_id})).one()
    return EarningsSummary(int(row.pending), int(row.earned), int(row.reversed))


@dataclass(frozen=True)
class SharerRow:
    sharer_id: UUID
    name: str
    visits: int
    bindings: int
    orders: int
    gmv_minor: int
    commission_minor: int


# Per sharer, in the period [from, to] of the tenant's local dates: visits of their links,
# customers bound to them, the confirmed orders they brought (placed in the period with the sharer
# as level-1 referrer: the order's snapshot, else the buyer's binding in force when it was placed,
# as the close reads it) and those orders' goods value, whether or not the tenant pays distribution
# commissions; and the distribution commission recorded in the period (both levels, after reversals).
_SHARERS = """
WITH period AS (
  SELECT (CAST(:day_from AS date)::timestamp AT TIME ZONE t.timezone) AS since,
         ((CAST(:day_to AS date) + 1)::timestamp AT TIME ZONE t.timezone) AS until
  FROM tenant t WHERE t.id = :t
), visits AS (
  SELECT s.sharer_id, count(*) AS n FROM share_visit v JOIN share_link s ON s.tenant_id = v.tenant_id
   AND s.id = v.share_link_id AND s.tenant_id = :t, period p
  WHERE v.tenant_id = :t AND v.visited_at >= p.since AND v.visited_at < p.until GROUP BY s.sharer_id
), bindings AS (
  SELECT b.referrer_id AS sharer_id, count(*) AS n FROM referral_binding b, period p
  WHERE b.tenant_id = :t AND b.bound_at >= p.since AND b.bound_at < p.until GROUP BY b.referrer_id
), brought AS (
  SELECT coalesce(r.referrer_id, b.referrer_id) AS sharer_id, o.id
  FROM customer_order o CROSS JOIN period p
  LEFT JOIN order_referral r ON r.tenant_id = o.tenant_id AND r.order_id = o.id AND r.level = 1 AND r.tenant_id = :t
  LEFT JOIN referral_binding b ON r.order_id IS NULL AND b.tenant_id = o.tenant_id AND b.customer_id = o.customer_id
   AND b.tenant_id = :t
   AND b.bound_at <= o.created_at AND (b.superseded_at IS NULL OR b.superseded_at > o.created_at)
  WHERE o.tenant_id = :t AND o.created_at >= p.since AND o.created_at < p.until
    AND o.status NOT IN ('PENDING_PAYMENT', 'CANCELLED')
), orders AS (
  SELECT d.sharer_id, count(*) AS n,
         sum((SELECT coalesce(sum(l.quantity * l.unit_price_minor), 0) FROM order_line l
              WHERE l.tenant_id = :t AND l.order_id = d.id AND l.status = 'ACTIVE')) AS gmv
  FROM brought d WHERE d.sharer_id IS NOT NULL GROUP BY d.sharer_id
), money AS (
  SELECT c.beneficiary_id AS sharer_id, sum(c.amount_minor) AS commission
  FROM distribution_commission c, period p
  WHERE c.tenant_id = :t AND c.created_at >= p.since AND c.created_at < p.until GROUP BY c.beneficiary_id
), sharers AS (
  SELECT sharer_id FROM visits UNION SELECT sharer_id FROM bindings UNION SELECT sharer_id FROM orders
  UNION SELECT sharer_id FROM money
)
SELECT s.sharer_id, coalesce(l.display_name, u.display_name) AS name, coalesce(v.n, 0) AS visits,
       coalesce(b.n, 0) AS bindings, coalesce(d.n, 0) AS orders, coalesce(d.gmv, 0) AS gmv,
       coalesce(m.commission, 0) AS commission
FROM sharers s
JOIN app_user u ON u.tenant_id = :t AND u.id = s.sharer_id
LEFT JOIN leader l ON l.tenant_id = :t AND l.user_id = s.sharer_id
LEFT JOIN visits v ON v.sharer_id = s.sharer_id
LEFT JOIN bindings b ON b.sharer_id = s.sharer_id
LEFT JOIN orders d ON d.sharer_id = s.sharer_id
LEFT JOIN money m ON m.sharer_id = s.sharer_id
ORDER BY coalesce(d.gmv, 0) DESC, coalesce(v.n, 0) DESC, s.sharer_id
LIMIT 1000
"""


async def sharer_report(session: AsyncSession, *, tenant_id: UUID, day_from: date, day_to: date) -> list[SharerRow]:
    rows = (await session.execute(text(_SHARERS), {"t": tenant_id, "day_from": day_from, "day_to": day_to})).all()
    return [SharerRow(sharer_id=r.sharer_id, name=r.name, visits=int(r.visits), bindings=int(r.bindings),
                      orders=int(r.orders), gmv_minor=int(r.gmv), commission_minor=int(r.commission)) for r in rows]


async def set_offer_distribution(session: AsyncSession, *, tenant_id: UUID, offer_id: UUID,
                                 values: dict[str, object]) -> None:
    await session.execute(text(
        "INSERT INTO offer_distribution (tenant_id, offer_id, level1_rate, level2_rate, level1_amount_minor, "
        "level2_amount_minor) VALUES (:t, :o, :r1, :r2, :a1, :a2) ON CONFLICT (tenant_id, offer_id) DO UPDATE SET "
        "level1_rate = EXCLUDED.level1_rate, level2_rate = EXCLUDED.level2_rate, "
        "level1_amount_minor = EXCLUDED.level1_amount_minor, level2_amount_minor = EXCLUDED.level2_amount_minor"),
        {"t": tenant_id, "o": offer_id, **values})
