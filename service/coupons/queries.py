"""Reading coupons: templates, a customer's coupons, what is claimable for a batch, the report."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.claims import COUPON_COLUMNS
from service.coupons.templates import COLUMNS as TEMPLATE_COLUMNS
from service.pagination import Page, check_first, decode_cursor, encode_cursor

# A coupon as its holder sees it: VOID and past-validity AVAILABLE ones are EXPIRED.
STATUS_SQL = ("CASE WHEN status = 'VOID' OR (status = 'AVAILABLE' AND valid_until <= clock_timestamp()) "
              "THEN 'EXPIRED' ELSE status END")
# A claimed new-customer coupon whose holder has ordered since (cancelled orders do not count): it
# is refused at use (coupon_apply), so it is shown as not usable, with why. Grants are not.
# The tenant is the parameter :t in the correlated subqueries: Citus routes a query to one shard
# only when each distributed table in it is filtered to the tenant, not when it is correlated.
SPENT_SQL = ("(NOT coupon.granted "
             "AND EXISTS (SELECT 1 FROM coupon_template t WHERE t.tenant_id = :t "
             "AND t.id = coupon.template_id AND t.audience = 'NEW_CUSTOMERS') "
             "AND EXISTS (SELECT 1 FROM customer_order o WHERE o.tenant_id = :t "
             "AND o.customer_id = coupon.customer_id AND o.status <> 'CANCELLED'))")
USABLE_SQL = ("status = 'AVAILABLE' AND (valid_until IS NULL OR valid_until > clock_timestamp()) "
              f"AND (valid_from IS NULL OR valid_from <= clock_timestamp()) AND NOT {SPENT_SQL}")


async def page(session: AsyncSession, sql: str, params: dict[str, Any], created: str, *, first: int,
               after: str | None, alias: str = "") -> Page[Any]:
    """One keyset page of `sql` ordered by (`created`, id) of the table `alias` names."""
    check_first(first)
    counted = dict(params)  # totalCount: the whole list, without the cursor
    where = ""
    if after:
        at, id_ = decode_cursor(after)
        where = f" AND ({alias}{created}, {alias}id) > (:at, :after_id)"
        params = {**params, "at": at, "after_id": id_}
    rows = list((await session.execute(text(f"{sql}{where} ORDER BY {alias}{created}, {alias}id LIMIT :n"),
                                       {**params, "n": first + 1})).all())
    has_next = len(rows) > first
    rows = rows[:first]
    whole = text(f"SELECT count(*) FROM ({sql}) AS listed")

    async def listed(counting: AsyncSession) -> int:
        return int((await counting.execute(whole, counted)).scalar_one())

    return Page(listed=listed, items=rows, cursors=[encode_cursor(getattr(r, created), r.id) for r in rows],
                has_next=has_next)


async def list_templates(session: AsyncSession, *, tenant_id: UUID, first: int, after: str | None) -> Page[Any]:
    return await page(session, f"SELECT {TEMPLATE_COLUMNS} FROM coupon_template WHERE tenant_id = :t",
                      {"t": tenant_id}, "created_at",
                       first=first, after=after)


async def templates_by_ids(session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID]) -> dict[UUID, Any]:
    rows = (await session.execute(
        text(f"SELECT {TEMPLATE_COLUMNS} FROM coupon_template WHERE tenant_id = :t AND id = ANY(:ids)"),
        {"t": tenant_id, "ids": list(ids)})).all()
    return {r.id: r for r in rows}


async def coupons_by_ids(session: AsyncSession, *, tenant_id: UUID, ids: Sequence[UUID],
                         customer_id: UUID | None) -> dict[UUID, Any]:
    """`customer_id`: only that customer's (None: an admin, any)."""
    rows = (await session.execute(
        text(f"SELECT {COUPON_COLUMNS}, {STATUS_SQL} AS shown, {SPENT_SQL} AS spent FROM coupon "
             "WHERE tenant_id = :t AND id = ANY(:ids) "
             "AND (CAST(:c AS uuid) IS NULL OR customer_id = CAST(:c AS uuid))"),
        {"t": tenant_id, "ids": list(ids), "c": customer_id})).all()
    return {r.id: r for r in rows}


async def my_coupons(session: AsyncSession, *, tenant_id: UUID, customer_id: UUID, usable: bool | None,
                     first: int, after: str | None) -> Page[Any]:
    condition = "" if usable is None else (f" AND ({USABLE_SQL})" if usable else f" AND NOT ({USABLE_SQL})")
    return await page(session, f"SELECT {COUPON_COLUMNS}, {STATUS_SQL} AS shown, {SPENT_SQL} AS spent FROM coupon "
                                f"WHERE tenant_id = :t AND customer_id = :c{condition}",
                       {"t": tenant_id, "c": customer_id}, "claimed_at",
                       first=first, after=after)


async def available_templates(session: AsyncSession, *, tenant_id: UUID, batch_id: UUID | None) -> list[Any]:
    """Templates open for claims now, of the whole tenant or of this batch (or of offers in it)."""
    return list((await session.execute(
        text(f"SELECT {TEMPLATE_COLUMNS} FROM coupon_template t "
             "WHERE t.tenant_id = :t AND ended_at IS NULL AND NOT paused "
             "AND (total_quantity IS NULL OR claimed < total_quantity) "
             "AND (budget_minor IS NULL OR discount_given_minor < budget_minor) "
             "AND (valid_until IS NULL OR valid_until > clock_timestamp()) "
             "AND (CAST(:b AS uuid) IS NULL OR ((batch_id IS NULL OR batch_id = CAST(:b AS uuid)) "
             "  AND (offer_ids IS NULL OR EXISTS (SELECT 1 FROM offer f WHERE f.tenant_id = t.tenant_id "
             "       AND f.id = ANY(t.offer_ids) AND f.batch_id = CAST(:b AS uuid))))) "
             "ORDER BY created_at, id LIMIT 100"), {"t": tenant_id, "b": batch_id})).all())


REPORT_SQL = f"""
SELECT t.id, t.name, t.kind, t.currency, t.total_quantity, t.budget_minor, t.claimed, t.used,
       t.discount_given_minor, t.ended_at, t.paused, t.created_at,
       (SELECT count(*) FROM coupon c WHERE c.tenant_id = t.tenant_id AND c.template_id = t.id
          AND c.status = 'RESERVED') AS reserved,
       (SELECT count(*) FROM coupon c WHERE c.tenant_id = t.tenant_id AND c.template_id = t.id
          AND ({STATUS_SQL}) = 'EXPIRED') AS expired,
       (SELECT coalesce(sum(c.discount_minor), 0) FROM coupon c WHERE c.tenant_id = t.tenant_id
          AND c.template_id = t.id AND c.status = 'USED')::bigint AS discount_used_minor
FROM coupon_template t
"""


async def report(session: AsyncSession, *, template_ids: Sequence[UUID] | None = None) -> list[Any]:
    where = "" if template_ids is None else " WHERE t.id = ANY(:ids)"
    return list((await session.execute(text(f"{REPORT_SQL}{where} ORDER BY t.created_at, t.id"),
                                       {"ids": list(template_ids or [])})).all())
