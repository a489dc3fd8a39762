"""Community DataLoaders: one instance per request (see access.get_loader), batching every
nested look-up of a list into one statement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from uuid import UUID

from strawberry.dataloader import DataLoader

from service.leaders import queries
from service.schema.access import serial_session
from service.schema.context import Context

Fetch = Callable[..., Awaitable[dict[UUID, Any]]]


class _TenantLoader(DataLoader[UUID, Any]):
    """Calls `fetch(session, tenant_id=…, <keyword>=keys)` once per batch."""

    fetch: Fetch
    keyword: str = "ids"
    default: Any = None

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        async with serial_session(self.context) as session:
            found = await type(self).fetch(
                session, tenant_id=self.context.tenant.id, **{self.keyword: list(keys)}
            )
        default = self.default
        return [found.get(k, default() if callable(default) else default) for k in keys]


class LeaderByIdLoader(_TenantLoader):
    fetch = staticmethod(queries.leaders_by_ids)


class LeaderByUserLoader(_TenantLoader):
    fetch = staticmethod(queries.leaders_by_users)
    keyword = "user_ids"


class PickupPointByIdLoader(_TenantLoader):
    fetch = staticmethod(queries.pickup_points_by_ids)


class PickupPointsByLeaderLoader(_TenantLoader):
    fetch = staticmethod(queries.pickup_points_by_leaders)
    keyword = "leader_ids"
    default = list


class CommunityGroupByIdLoader(_TenantLoader):
    fetch = staticmethod(queries.groups_by_ids)


class CommunityGroupsByLeaderLoader(_TenantLoader):
    fetch = staticmethod(queries.groups_by_leaders)
    keyword = "leader_ids"
    default = list


class MemberCountByGroupLoader(_TenantLoader):
    fetch = staticmethod(queries.member_counts)
    keyword = "group_ids"
    default = 0
