"""shareVisit's limit: visits of one share code from one client address, per tenant, in a window.

A visit writes a row and may bind the visitor, so a bot reloading a link would inflate the
sharer's visits and attribution. The counter (service/accounts/rate_limits.py: Redis, one script
of Redis 6.2 commands, a key that expires with its window; PostgreSQL counters while Redis is
down) is keyed on the tenant, the address and the code: one tenant's traffic never counts
against another's, and a link's visits never block other links. Only codes that exist are
counted, so random codes leave no keys behind.
"""

from __future__ import annotations

from uuid import UUID

from service.accounts import rate_limits
from service.accounts.rate_limits import Counter
from service.config import get_settings
from service.errors import ErrorCode, fail
from service.i18n import msg


def counter(tenant_id: UUID, address: str | None, code: str) -> Counter:
    return Counter(f"rl:share-visit:{tenant_id}:{rate_limits.address_key(address)}:{code}",
                   get_settings().share_visits_per_address)


async def take_visit(tenant_id: UUID, address: str | None, code: str) -> None:
    """Counts a visit; RATE_LIMITED (on ["code"]) while the counter is full."""
    s = get_settings()
    try:
        await rate_limits.take(tenant_id, [counter(tenant_id, address, code)], s.share_visit_window_seconds,
                               fallback=True)
    except rate_limits.Limited as e:
        raise fail(ErrorCode.RATE_LIMITED, msg("growth.visits_limited", minutes=max(1, round(e.retry_after / 60))),
                   ["code"]) from None
