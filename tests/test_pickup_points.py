"""Pickup points at scale: nearest-first search that is exact and index-backed with 50,000
points in a tenant, and list queries whose number of SQL statements does not grow with the page."""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event
from sqlalchemy.dialects.postgresql import psycopg as pg_psycopg

from service import global_id
from tests.test_leaders import NEAREST, PEOPLES_SQUARE, create_point, make_leader

EARTH_RADIUS_M = 6_371_008.8


def haversine(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


@contextmanager
def counted_statements() -> Iterator[list[str]]:
    """Every statement the API sends to PostgreSQL meanwhile (the API runs in this process)."""
    from service.db import app_engine

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        seen.append(statement)

    engine = app_engine().sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def insert_leaders(owner_db, tenant, n: int, status: str = "APPROVED") -> list:  # type: ignore[no-untyped-def]
    """`n` leaders (with their accounts) straight into the database, for volume."""
    rows = owner_db.execute(
        """WITH u AS (
             INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash, created_at)
             SELECT %(t)s, gen_random_uuid(), 'CUSTOMER', 'bulk ' || i,
                    '+8617' || lpad((random() * 1e9)::bigint::text, 9, '0'),
                    'x', clock_timestamp() FROM generate_series(1, %(n)s) i RETURNING id, display_name)
           INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate,
                               created_at)
           SELECT %(t)s, gen_random_uuid(), u.id, u.display_name, '+8613800000000', %(s)s, 0.1,
                  clock_timestamp()
           FROM u RETURNING id""",
        {"t": tenant.uuid, "n": n, "s": status},
    ).fetchall()
    return [r[0] for r in rows]


def insert_points(
    owner_db,
    tenant,
    leader_ids,
    n: int,
    *,
    spread: float = 0.5,
    active: bool = True,  # type: ignore[no-untyped-def]
    centre=PEOPLES_SQUARE,
) -> None:
    owner_db.execute(
        """INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active,
                                    created_at)
           SELECT %(t)s, gen_random_uuid(),
                  (%(leaders)s::uuid[])[1 + (i %% cardinality(%(leaders)s::uuid[]))],
                  'bulk point ' || i, 'address ' || i,
                  %(lat)s + (random() - 0.5) * 2 * %(spread)s, %(lon)s + (random() - 0.5) * 2 * %(spread)s,
                  %(active)s, clock_timestamp()
           FROM generate_series(1, %(n)s) i""",
        {
            "t": tenant.uuid,
            "leaders": leader_ids,
            "n": n,
            "spread": spread,
            "lat": centre[0],
            "lon": centre[1],
            "active": active,
        },
    )


def test_nearest_is_exact_and_sorted(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    leader = make_leader(gql, tenant, make_customer)
    rng = random.Random(7)
    points = {}
    for i in range(25):
        lat, lon = PEOPLES_SQUARE[0] + rng.uniform(-0.3, 0.3), PEOPLES_SQUARE[1] + rng.uniform(-0.3, 0.3)
        points[create_point(gql, leader.token, name=f"p{i}", lat=lat, lon=lon)["id"]] = (lat, lon)
    far = create_point(gql, leader.token, name="北京", lat=39.9042, lon=116.4074)["id"]
    points[far] = (39.9042, 116.4074)
    create_point(
        gql,
        leader.token,
        name="inactive, at the centre",
        lat=PEOPLES_SQUARE[0],
        lon=PEOPLES_SQUARE[1],
        active=False,
    )
    for here in (PEOPLES_SQUARE, (31.0, 121.0), (40.0, 116.0)):
        expected = sorted(points, key=lambda p: (haversine(*here, *points[p]), p))
        got = gql.data(NEAREST, {"lat": here[0], "lon": here[1], "first": 7}, tenant=tenant.slug)[
            "nearestPickupPoints"
        ]
        assert [g["pickupPoint"]["id"] for g in got] == expected[:7]
        for g in got:
            assert g["distanceMeters"] == pytest.approx(
                haversine(*here, *points[g["pickupPoint"]["id"]]), rel=1e-6
            )
    # Fewer points than asked: all of them, nearest first, the far one last.
    got = gql.data(
        NEAREST, {"lat": PEOPLES_SQUARE[0], "lon": PEOPLES_SQUARE[1], "first": 100}, tenant=tenant.slug
    )["nearestPickupPoints"]
    assert len(got) == 26 and got[-1]["pickupPoint"]["id"] == far
    assert [g["distanceMeters"] for g in got] == sorted(g["distanceMeters"] for g in got)
    # The default is 5.
    assert len(gql.data(NEAREST, {"lat": 31.2, "lon": 121.4}, tenant=tenant.slug)["nearestPickupPoints"]) == 5


def test_nearest_across_the_antimeridian_and_near_a_pole(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    leader = make_leader(gql, tenant, make_customer)
    east = create_point(gql, leader.token, name="Fiji east", lat=-17.0, lon=179.99)["id"]
    west = create_point(gql, leader.token, name="Fiji west", lat=-17.0, lon=-179.99)["id"]
    create_point(gql, leader.token, name="far", lat=-17.0, lon=170.0)
    got = gql.data(NEAREST, {"lat": -17.0, "lon": -179.999, "first": 2}, tenant=tenant.slug)[
        "nearestPickupPoints"
    ]
    assert [g["pickupPoint"]["id"] for g in got] == [west, east]
    assert got[1]["distanceMeters"] == pytest.approx(haversine(-17.0, -179.999, -17.0, 179.99), rel=1e-6)
    pole = create_point(gql, leader.token, name="pole", lat=89.9, lon=0.0)["id"]
    got = gql.data(NEAREST, {"lat": 89.95, "lon": 180.0, "first": 1}, tenant=tenant.slug)[
        "nearestPickupPoints"
    ]
    assert [g["pickupPoint"]["id"] for g in got] == [pole]


def test_nearest_refuses_bad_coordinates(gql, tenant):  # type: ignore[no-untyped-def]
    body = gql(NEAREST, {"lat": 91, "lon": -181}, tenant=tenant.slug)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID"
    assert error["extensions"]["fields"] == [["latitude"], ["longitude"]]
    assert (
        gql(NEAREST, {"lat": 0, "lon": 0, "first": 101}, tenant=tenant.slug)["errors"][0]["extensions"][
            "code"
        ]
        == "PAGE_SIZE_EXCEEDED"
    )


def test_nearest_uses_the_geo_index_with_50000_points(gql, make_tenant, make_customer, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    from service.leaders.geo import FIRST_RADIUS_M, nearest_statement

    tenant = make_tenant()
    approved = insert_leaders(owner_db, tenant, 50)
    suspended = insert_leaders(owner_db, tenant, 5, status="SUSPENDED")
    insert_points(owner_db, tenant, approved, 49_000)
    insert_points(owner_db, tenant, approved, 500, active=False)
    insert_points(owner_db, tenant, suspended, 500)
    owner_db.execute("ANALYZE pickup_point")
    owner_db.execute("ANALYZE leader")
    assert (
        owner_db.execute("SELECT count(*) FROM pickup_point WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[
            0
        ]
        == 50_000
    )

    # The plan of the very statement the API runs, as the app role under row-level security.
    stmt = nearest_statement(
        tenant_id=tenant.uuid,
        latitude=PEOPLES_SQUARE[0],
        longitude=PEOPLES_SQUARE[1],
        radius_m=FIRST_RADIUS_M,
        first=10,
    )
    compiled = stmt.compile(dialect=pg_psycopg.dialect())
    with psycopg.connect(app_db_url) as conn:
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (str(tenant.uuid),))
        plan = conn.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + str(compiled), compiled.params).fetchone()[0]
        text_plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + str(compiled), compiled.params))
    nodes = list(_plan_nodes(plan[0]["Plan"]))
    scans = [n for n in nodes if n.get("Relation Name") == "pickup_point"]
    print("EXPLAIN nearestPickupPoints, 50,000 points:\n" + text_plan)
    assert [n["Index Name"] for n in scans] == ["pickup_point_geo_idx"], text_plan
    assert not any(n["Node Type"] == "Seq Scan" for n in scans), text_plan
    # The box holds a few dozen of the 50,000 points: the index did the narrowing.
    print(
        "index rows:",
        scans[0]["Actual Rows"],
        "removed by filter:",
        scans[0].get("Rows Removed by Filter"),
        "execution ms:",
        plan[0]["Execution Time"],
    )
    assert scans[0]["Actual Rows"] < 500, json.dumps(plan, indent=1)

    # And the answer is the exact nearest ten among the public points.
    expected = [
        global_id.encode("PickupPoint", r[0])
        for r in owner_db.execute(
            """SELECT p.id FROM pickup_point p
           JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
           WHERE p.tenant_id = %s AND p.active AND l.status = 'APPROVED'
           ORDER BY 2 * 6371008.8 * asin(least(1, sqrt(
               power(sin(radians(p.latitude - %s) / 2), 2)
               + cos(radians(%s)) * cos(radians(p.latitude))
                 * power(sin(radians(p.longitude - %s) / 2), 2)))), p.id
           LIMIT 10""",
            (tenant.uuid, PEOPLES_SQUARE[0], PEOPLES_SQUARE[0], PEOPLES_SQUARE[1]),
        ).fetchall()
    ]
    got = gql.data(
        NEAREST, {"lat": PEOPLES_SQUARE[0], "lon": PEOPLES_SQUARE[1], "first": 10}, tenant=tenant.slug
    )["nearestPickupPoints"]
    assert [g["pickupPoint"]["id"] for g in got] == expected


def _plan_nodes(node: dict, on_shard: bool = False) -> Iterator[dict]:
    """Every node of a plan; on Citus also those of each task's plan on its worker, where a shard's
    relation and index carry the shard's id as a suffix (pickup_point_102445), named here as on one node."""
    if on_shard:
        node = {**node, **{k: re.sub(r"_\d+$", "", node[k]) for k in ("Relation Name", "Index Name") if k in node}}
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child, on_shard)
    for task in node.get("Distributed Query", {}).get("Job", {}).get("Tasks", []):
        for plans in task.get("Remote Plan", []):
            for remote in plans:
                yield from _plan_nodes(remote["Plan"], True)


POINTS_WITH_LEADERS = """
query($first: Int) {
  pickupPoints(first: $first) {
    edges { node { name latitude leader { displayName phone status
      pickupPoints { name } communityGroups { name memberCount } } } }
  }
}"""


def test_statements_for_a_page_of_pickup_points_do_not_grow_with_it(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    leaders = insert_leaders(owner_db, tenant, 40)
    insert_points(owner_db, tenant, leaders, 120)
    owner_db.execute(
        """INSERT INTO community_group (tenant_id, id, leader_id, name, invite_code)
           SELECT %(t)s, gen_random_uuid(), l, 'group', upper(substr(md5(random()::text), 1, 10))
           FROM unnest(%(l)s::uuid[]) l""",
        {"t": tenant.uuid, "l": leaders},
    )
    gql.data(POINTS_WITH_LEADERS, {"first": 1}, token=tenant.admin_token)  # warm the tenant cache
    counts = {}
    for first in (10, 100):
        with counted_statements() as seen:
            edges = gql.data(POINTS_WITH_LEADERS, {"first": first}, token=tenant.admin_token)["pickupPoints"][
                "edges"
            ]
        assert len(edges) == first and all(len(e["node"]["leader"]["pickupPoints"]) == 3 for e in edges)
        assert all(e["node"]["leader"]["communityGroups"][0]["memberCount"] == 0 for e in edges)
        counts[first] = len(seen)
    print("SQL statements for pickup points with leaders, points and groups:", counts)
    # set tenant, the page, leaders, their points, their groups, member counts (the roles come
    # with the account check of every request, on a driver connection, not counted here)
    assert counts == {10: 6, 100: 6}, counts
