"""Getting coupons: a customer's claim (领券, idempotent per key) and an admin's grant.

Never past a limit, by construction: the template's count moves only through a guarded
`UPDATE ... SET claimed = claimed + n WHERE claimed + n <= total_quantity`, a customer's count
through a guarded upsert on coupon_holding; the rows are locked key -> holding -> template by
every claim, and grants take the template only, so no two paths wait on each other in a cycle.
A refusal rolls the mutation's savepoint back: no coupon row, no count is left behind.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from service.coupons.templates import COLUMNS as TEMPLATE_COLUMNS
from service.coupons.templates import CouponAudience, budget_spent
from service.db import insert_select
from service.errors import Collector, ErrorCode, fail
from service.i18n import msg

COUPON_COLUMNS = ("tenant_id, id, template_id, customer_id, status, valid_from, valid_until, order_id, "
                  "discount_minor, idempotency_key, granted, claimed_at, used_at")
MAX_GRANT = 1000

# valid_until: the template's end, or N days after the claim, whichever comes first.
_VALID_UNTIL = ("CASE WHEN t.valid_days IS NULL THEN t.valid_until "
                "ELSE least(t.valid_until, clock_timestamp() + make_interval(days => t.valid_days)) END")

# The clock as the template was read (:now), the tenant named: no volatile function, one tenant's
# rows, so Citus runs it on the tenant's worker (else it copies the rows, which RLS refuses).
_INSERT = text(
    f"INSERT INTO coupon ({COUPON_COLUMNS}) "
    f"SELECT t.tenant_id, :id, t.id, :c, 'AVAILABLE', t.valid_from, "
    f"{_VALID_UNTIL.replace('clock_timestamp()', 'CAST(:now AS timestamptz)')}, NULL, 0, :key, :granted, "
    "CAST(:now AS timestamptz), NULL FROM coupon_template t WHERE t.tenant_id = :t AND t.id = :tpl "
    f"ON CONFLICT (tenant_id, customer_id, idempotency_key) DO NOTHING RETURNING {COUPON_COLUMNS}"
)
_HOLD = text(
    "INSERT INTO coupon_holding (tenant_id, template_id, customer_id, claimed) VALUES (:t, :tpl, :c, 1) "
    "ON CONFLICT (tenant_id, template_id, customer_id) DO UPDATE SET claimed = coupon_holding.claimed + 1 "
    "WHERE coupon_holding.claimed < :limit RETURNING claimed"
)
_TAKE = text(
    "UPDATE coupon_template SET claimed = claimed + :n "
    "WHERE tenant_id = :t AND id = :tpl AND (total_quantity IS NULL OR claimed + :n <= total_quantity) "
    "RETURNING claimed"
)


async def _template(session: AsyncSession, tenant_id: UUID, template_id: UUID | None) -> Any:
    row = (await session.execute(text(f"SELECT {TEMPLATE_COLUMNS}, clock_timestamp() AS now FROM coupon_template "
                                      "WHERE tenant_id = :t AND id = :id"),
                                 {"t": tenant_id, "id": template_id})).first() if template_id else None
    if row is None:
        raise fail(ErrorCode.NOT_FOUND, "No such coupon template.", ["templateId"])
    return row


async def _by_key(session: AsyncSession, tenant_id: UUID, customer_id: UUID, key: str) -> Any:
    return (await session.execute(
        text(f"SELECT {COUPON_COLUMNS} FROM coupon WHERE tenant_id = :t AND customer_id = :c AND idempotency_key = :k"),
        {"t": tenant_id, "c": customer_id, "k": key})).first()


def _replay(found: Any, template_id: UUID) -> Any:
    if found.template_id != template_id:
        raise fail(ErrorCode.INVALID, "This idempotency key was used for another coupon.", ["idempotencyKey"])
    return found


async def claim(session: AsyncSession, *, tenant_id: UUID, customer_id: UUID, template_id: UUID | None,
                idempotency_key: str) -> Any:
    """The customer's coupon row; the same key again returns the same coupon."""
    if not idempotency_key.strip() or len(idempotency_key) > 200:
        raise fail(ErrorCode.INVALID, "Give an idempotency key of 1 to 200 characters.", ["idempotencyKey"])
    template = await _template(session, tenant_id, template_id)
    found = await _by_key(session, tenant_id, customer_id, idempotency_key)
    if found is not None:
        return _replay(found, template.id)
    if template.ended_at is not None or template.paused or (
            template.valid_until is not None and template.now >= template.valid_until):
        raise fail(ErrorCode.COUPON_EXPIRED, "This coupon is no longer handed out.", ["templateId"])
    if template.total_quantity is not None and template.claimed >= template.total_quantity:
        raise fail(ErrorCode.COUPON_EXHAUSTED, "All of these coupons have been claimed.", ["templateId"])
    if budget_spent(template):
        raise fail(ErrorCode.COUPON_EXHAUSTED, "This coupon's budget is spent.", ["templateId"])
    await _check_audience(session, template, customer_id)
    inserted = (await session.execute(_INSERT, {"id": uuid4(), "c": customer_id, "key": idempotency_key,
                                                "granted": False, "t": template.tenant_id, "tpl": template.id,
                                                "now": template.now})).first()
    if inserted is None:  # a concurrent claim with this key committed first
        return _replay(await _by_key(session, tenant_id, customer_id, idempotency_key), template.id)
    held = (await session.execute(_HOLD, {"t": template.tenant_id, "tpl": template.id, "c": customer_id,
                                          "limit": template.per_customer_limit})).first()
    if held is None:
        raise fail(ErrorCode.COUPON_LIMIT_REACHED,
                   msg("coupons.per_customer", limit=template.per_customer_limit), ["templateId"])
    if (await session.execute(_TAKE, {"n": 1, "t": template.tenant_id, "tpl": template.id})).first() is None:
        raise fail(ErrorCode.COUPON_EXHAUSTED, "All of these coupons have been claimed.", ["templateId"])
    return inserted


async def _check_audience(session: AsyncSession, template: Any, customer_id: UUID) -> None:
    audience = CouponAudience(template.audience)
    if audience is CouponAudience.NEW_CUSTOMERS:
        ordered = (await session.execute(
            text("SELECT 1 FROM customer_order WHERE tenant_id = :t AND customer_id = :c AND status <> 'CANCELLED' "
                 "LIMIT 1"), {"t": template.tenant_id, "c": customer_id})).first()
        if ordered is not None:
            raise fail(ErrorCode.COUPON_NOT_APPLICABLE, "This coupon is for new customers only.", ["templateId"])
    elif audience is CouponAudience.GROUP_MEMBERS:
        member = (await session.execute(
            text("SELECT 1 FROM group_member WHERE tenant_id = :t AND user_id = :c AND group_id = ANY(:g) LIMIT 1"),
            {"t": template.tenant_id, "c": customer_id, "g": list(template.group_ids or [])})).first()
        if member is None:
            raise fail(ErrorCode.COUPON_NOT_APPLICABLE, "This coupon is for members of certain groups only.",
                       ["templateId"])


_GRANTED_BY_KEY = text(
    "SELECT count(*) FROM coupon WHERE tenant_id = :t AND template_id = :tpl AND idempotency_key = :key AND granted"
)


async def grant(session: AsyncSession, *, tenant_id: UUID, template_id: UUID | None, user_ids: Sequence[UUID | None],
                community_group_id: UUID | None = None, group_given: bool = False,
                idempotency_key: str | None = None) -> int:
    """One coupon to each customer named (and to each member of the group): all or none. Grants
    count towards the total quantity, not towards the per-customer limit, and ignore the audience.
    With an idempotency key (per template), a grant repeated (a retry, or sent twice at once) grants
    nothing more and returns what the first one granted."""
    if idempotency_key is not None and not (idempotency_key.strip() and len(idempotency_key) <= 190):
        raise fail(ErrorCode.INVALID, "Give an idempotency key of 1 to 190 characters.", ["idempotencyKey"])
    template = await _template(session, tenant_id, template_id)
    if idempotency_key is not None:
        key = f"grant:{idempotency_key}"
        # Held to the commit: the same key sent twice at once waits here, then sees the first's coupons.
        await session.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:lock, 0))"),
                              {"lock": f"coupon_grant:{template.tenant_id}:{template.id}:{key}"})
        earlier = int((await session.execute(
            _GRANTED_BY_KEY, {"t": template.tenant_id, "tpl": template.id, "key": key})).scalar_one())
        if earlier:
            return earlier
    if template.ended_at is not None:
        raise fail(ErrorCode.COUPON_EXPIRED, "This template has ended.", ["templateId"])
    if budget_spent(template):
        raise fail(ErrorCode.COUPON_EXHAUSTED, "This template's budget is spent.", ["templateId"])
    errors = Collector()
    wanted = list(dict.fromkeys(u for u in user_ids if u is not None))
    customers = set((await session.execute(
        text("SELECT id FROM app_user WHERE tenant_id = :t AND id = ANY(:ids) AND kind = 'CUSTOMER'"),
        {"t": template.tenant_id, "ids": wanted})).scalars())
    for n, user_id in enumerate(user_ids):
        if user_id not in customers:
            errors.add(ErrorCode.NOT_FOUND, "No such customer.", ["userIds", str(n)])
    if group_given and (community_group_id is None or (await session.execute(
            text("SELECT 1 FROM community_group WHERE tenant_id = :t AND id = :g"),
            {"t": template.tenant_id, "g": community_group_id})).first() is None):
        errors.add(ErrorCode.NOT_FOUND, "No such community group.", ["communityGroupId"])
    errors.raise_if_any()
    if group_given:
        members = (await session.execute(
            text("SELECT m.user_id FROM group_member m JOIN app_user u ON u.tenant_id = m.tenant_id "
                 "AND u.id = m.user_id WHERE m.tenant_id = :t AND m.group_id = :g AND u.kind = 'CUSTOMER' "
                 "ORDER BY m.user_id"), {"t": template.tenant_id, "g": community_group_id})).scalars()
        wanted += [m for m in members if m not in customers]
    if len(wanted) > MAX_GRANT:
        raise fail(ErrorCode.INVALID, msg("coupons.grant_max", max=MAX_GRANT), ["userIds"])
    if not wanted:
        return 0
    if (await session.execute(_TAKE, {"n": len(wanted), "t": template.tenant_id, "tpl": template.id})).first() is None:
        raise fail(ErrorCode.COUPON_EXHAUSTED, "Not enough of these coupons are left.", ["templateId"])
    key = f"grant:{uuid4()}" if idempotency_key is None else f"grant:{idempotency_key}"
    await insert_select(
        session, f"INSERT INTO coupon ({COUPON_COLUMNS})",
        f"SELECT t.tenant_id, gen_random_uuid(), t.id, u.id, 'AVAILABLE', t.valid_from, {_VALID_UNTIL}, NULL, "
        "0, :key, true, clock_timestamp(), NULL FROM coupon_template t, unnest(CAST(:users AS uuid[])) AS u(id) "
        "WHERE t.tenant_id = :t AND t.id = :tpl",
        {"key": key, "users": wanted, "t": template.tenant_id, "tpl": template.id})
    return len(wanted)


async def grant_once(session: AsyncSession, *, tenant_id: UUID, template_id: UUID | None, customer_id: UUID,
                     key: str) -> tuple[Any, bool]:
    """One granted coupon per (customer, key): (the coupon, whether it is new). A repeat, or a
    concurrent call with the key that committed first, returns that coupon and counts nothing.
    Within the template's total quantity and budget, while it hands coupons out."""
    found = await _by_key(session, tenant_id, customer_id, key)
    template = await _template(session, tenant_id, template_id)
    if found is not None:
        return _replay(found, template.id), False
    if template.ended_at is not None or (template.valid_until is not None and template.now >= template.valid_until):
        raise fail(ErrorCode.COUPON_EXPIRED, "This coupon template no longer hands coupons out.", ["templateId"])
    if budget_spent(template):
        raise fail(ErrorCode.COUPON_EXHAUSTED, "This coupon template's budget is spent.", ["templateId"])
    inserted = (await session.execute(_INSERT, {"id": uuid4(), "c": customer_id, "key": key, "granted": True,
                                                "t": template.tenant_id, "tpl": template.id,
                                                "now": template.now})).first()
    if inserted is None:
        return _replay(await _by_key(session, tenant_id, customer_id, key), template.id), False
    if (await session.execute(_TAKE, {"n": 1, "t": template.tenant_id, "tpl": template.id})).first() is None:
        raise fail(ErrorCode.COUPON_EXHAUSTED, "All of these coupons have been claimed.", ["templateId"])
    return inserted, True
