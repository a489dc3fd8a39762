"""Community DataLoaders: one instance per request (see access.get_loader), batching every
nested look-up of a list into one statement."""

from __future__ import annotations

from service.leaders import queries
from service.schema.access import KeyedLoader


class _TenantLoader(KeyedLoader):
    pass_tenant = True


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
