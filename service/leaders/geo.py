"""Nearest pickup points without PostGIS: a bounding box the B-tree `pickup_point_geo_idx`
(tenant_id, latitude, longitude) WHERE active can range-scan, then the exact great-circle
distance on the few candidates inside it.

The box starts small and grows until it holds enough points *within its inscribed radius*:
a point outside the box is farther than that radius, so the points found are the true nearest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Float, Select, func, literal
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import and_, col, or_, select

from service.errors import Collector, ErrorCode
from service.leaders.models import Leader, LeaderStatus, PickupPoint

EARTH_RADIUS_M = 6_371_008.8  # mean radius (IUGG)
HALF_CIRCUMFERENCE_M = math.pi * EARTH_RADIUS_M
FIRST_RADIUS_M = 2_000.0
GROWTH = 4.0


@dataclass(frozen=True)
class Box:
    min_lat: float
    max_lat: float
    # One or two longitude ranges (two when the box crosses the antimeridian); None: all.
    lon_ranges: tuple[tuple[float, float], ...] | None


def bounding_box(latitude: float, longitude: float, radius_m: float) -> Box:
    """The smallest lat/lon box holding every point within `radius_m` of the centre."""
    angular = radius_m / EARTH_RADIUS_M
    min_lat = math.degrees(math.radians(latitude) - angular)
    max_lat = math.degrees(math.radians(latitude) + angular)
    if min_lat <= -90 or max_lat >= 90 or angular >= math.pi / 2:
        # The circle reaches a pole: every longitude is in range.
        return Box(max(min_lat, -90.0), min(max_lat, 90.0), None)
    delta = math.degrees(math.asin(min(1.0, math.sin(angular) / math.cos(math.radians(latitude)))))
    west, east = longitude - delta, longitude + delta
    if delta >= 180:
        return Box(min_lat, max_lat, None)
    if west < -180:
        return Box(min_lat, max_lat, ((west + 360, 180.0), (-180.0, east)))
    if east > 180:
        return Box(min_lat, max_lat, ((west, 180.0), (-180.0, east - 360)))
    return Box(min_lat, max_lat, ((west, east),))


def distance_expression(latitude: float, longitude: float) -> ColumnElement[Any]:
    """Haversine distance in metres from a fixed point to each row, as SQL."""
    lat1 = math.radians(latitude)
    lat2 = func.radians(col(PickupPoint.latitude))
    dlat = lat2 - literal(lat1, Float)
    dlon = func.radians(col(PickupPoint.longitude)) - literal(math.radians(longitude), Float)
    a = func.power(func.sin(dlat / 2), 2) + literal(math.cos(lat1), Float) * func.cos(lat2) * func.power(
        func.sin(dlon / 2), 2
    )
    return (2 * EARTH_RADIUS_M) * func.asin(func.least(1.0, func.sqrt(a)))


def nearest_statement(
    *, tenant_id: UUID, latitude: float, longitude: float, radius_m: float, first: int
) -> Select[PickupPoint, Any]:
    """Active points of approved leaders within `radius_m`, nearest first, at most `first`."""
    distance = distance_expression(latitude, longitude).label("distance")
    box = bounding_box(latitude, longitude, radius_m)
    conditions: list[ColumnElement[bool] | bool] = [
        PickupPoint.tenant_id == tenant_id,
        # The partial index's predicate verbatim (not "IS TRUE"), so the planner can use the index.
        PickupPoint.active,
        col(PickupPoint.latitude).between(box.min_lat, box.max_lat),
    ]
    if box.lon_ranges is not None:
        conditions.append(or_(*(col(PickupPoint.longitude).between(w, e) for w, e in box.lon_ranges)))
    inner = (
        select(PickupPoint, distance)
        .join(Leader, and_(Leader.tenant_id == PickupPoint.tenant_id, Leader.id == PickupPoint.leader_id))
        .where(*conditions, Leader.status == LeaderStatus.APPROVED)
    )
    if radius_m < HALF_CIRCUMFERENCE_M:
        inner = inner.where(distance_expression(latitude, longitude) <= radius_m)
    return inner.order_by(distance, col(PickupPoint.id)).limit(first)


def check_coordinates(latitude: float, longitude: float) -> None:
    errors = Collector()
    if not math.isfinite(latitude) or not -90 <= latitude <= 90:
        errors.add(ErrorCode.INVALID, "Must be between -90 and 90.", ["latitude"])
    if not math.isfinite(longitude) or not -180 <= longitude <= 180:
        errors.add(ErrorCode.INVALID, "Must be between -180 and 180.", ["longitude"])
    errors.raise_if_any()


async def nearest_pickup_points(
    session: AsyncSession, *, tenant_id: UUID, latitude: float, longitude: float, first: int
) -> list[tuple[PickupPoint, float]]:
    """Up to `first` public pickup points, nearest first, with their distance in metres."""
    check_coordinates(latitude, longitude)
    if first < 1:
        return []
    radius = FIRST_RADIUS_M
    while True:
        stmt = nearest_statement(
            tenant_id=tenant_id, latitude=latitude, longitude=longitude, radius_m=radius, first=first
        )
        rows = [(point, float(distance)) for point, distance in (await session.execute(stmt)).all()]
        if len(rows) >= first or radius >= HALF_CIRCUMFERENCE_M:
            return rows
        radius = min(radius * GROWTH, HALF_CIRCUMFERENCE_M)
