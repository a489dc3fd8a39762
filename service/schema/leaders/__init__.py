"""Leaders, pickup points and community groups over GraphQL."""

from service.schema.leaders.mutations import LeadersMutation
from service.schema.leaders.queries import LeadersQuery
from service.schema.leaders.types import (
    CommunityGroup,
    Leader,
    PickupPoint,
    PickupPointDistance,
    viewer_leader,
)

__all__ = [
    "CommunityGroup",
    "Leader",
    "LeadersMutation",
    "LeadersQuery",
    "PickupPoint",
    "PickupPointDistance",
    "viewer_leader",
]
