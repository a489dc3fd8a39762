"""Leaders, pickup points and community groups over GraphQL: the life of a leader, who sees
what, invite codes and membership, and invalid input that changes nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from service import global_id
from tests.conftest import sign_in

LEADER_FIELDS = "id displayName phone status statusReason commissionRate"
LEADER_APPLY = """
mutation($input: LeaderApplyInput!) {
  leaderApply(input: $input) { leader { FIELDS } errors { code field message } }
}""".replace("FIELDS", LEADER_FIELDS)
LEADER_APPROVE = """
mutation($id: ID!, $rate: Decimal) {
  leaderApprove(id: $id, commissionRate: $rate) { leader { FIELDS } errors { code field message } }
}""".replace("FIELDS", LEADER_FIELDS)
LEADER_REJECT = """
mutation($id: ID!, $reason: String!) {
  leaderReject(id: $id, reason: $reason) { leader { FIELDS } errors { code field message } }
}""".replace("FIELDS", LEADER_FIELDS)
LEADER_SUSPEND = """
mutation($id: ID!, $reason: String!) {
  leaderSuspend(id: $id, reason: $reason) { leader { FIELDS } errors { code field message } }
}""".replace("FIELDS", LEADER_FIELDS)
LEADERS = """
query($status: LeaderStatus, $first: Int, $after: String) {
  leaders(status: $status, first: $first, after: $after) {
    edges { node { id displayName status } } pageInfo { hasNextPage endCursor }
  }
}"""
POINT_FIELDS = "id name address latitude longitude openingHours active leader { id displayName }"
POINT_CREATE = """
mutation($input: PickupPointInput!) {
  pickupPointCreate(input: $input) { pickupPoint { FIELDS } errors { code field message } }
}""".replace("FIELDS", POINT_FIELDS)
POINT_UPDATE = """
mutation($id: ID!, $input: PickupPointInput!) {
  pickupPointUpdate(id: $id, input: $input) { pickupPoint { FIELDS } errors { code field message } }
}""".replace("FIELDS", POINT_FIELDS)
POINTS = """
query($first: Int, $after: String) {
  pickupPoints(first: $first, after: $after) {
    edges { node { id name active } } pageInfo { hasNextPage endCursor }
  }
}"""
NEAREST = """
query($lat: Float!, $lon: Float!, $first: Int) {
  nearestPickupPoints(latitude: $lat, longitude: $lon, first: $first) {
    distanceMeters pickupPoint { id name }
  }
}"""
GROUP_CREATE = """
mutation($input: CommunityGroupInput!) {
  communityGroupCreate(input: $input) {
    communityGroup { id name inviteCode memberCount leader { id } } errors { code field message }
  }
}"""
GROUP_JOIN = """
mutation($code: String!) {
  communityGroupJoin(inviteCode: $code) {
    communityGroup { id name memberCount } errors { code field message }
  }
}"""
ME = """{ me { roles leader { id status phone commissionRate pickupPoints { name }
  communityGroups { name inviteCode memberCount } } } }"""
NODE = """query($id: ID!) { node(id: $id) { __typename id
  ... on Leader { displayName phone status }
  ... on PickupPoint { name active }
  ... on CommunityGroup { name memberCount } } }"""

# 人民广场, Shanghai
PEOPLES_SQUARE = (31.2304, 121.4737)


@dataclass
class LeaderHandle:
    id: str
    token: str
    user_id: str
    phone: str


def apply(gql, tenant, customer, name="王阿姨", phone="+8613900001111") -> str:  # type: ignore[no-untyped-def]
    payload = gql.data(LEADER_APPLY, {"input": {"displayName": name, "phone": phone}}, token=customer.token)[
        "leaderApply"
    ]
    assert payload["errors"] == [], payload
    return payload["leader"]["id"]


def make_leader(gql, tenant, make_customer, name="王阿姨", rate=None) -> LeaderHandle:  # type: ignore[no-untyped-def]
    """An approved leader with a fresh token (roles are read when the token is used)."""
    customer = make_customer(tenant, name)
    leader_id = apply(gql, tenant, customer, name, phone=customer.phone)
    payload = gql.data(LEADER_APPROVE, {"id": leader_id, "rate": rate}, token=tenant.admin_token)[
        "leaderApprove"
    ]
    assert payload["errors"] == [], payload
    return LeaderHandle(id=leader_id, token=customer.token, user_id=customer.user_id, phone=customer.phone)


def point_input(name="幸福小区自提点", lat=PEOPLES_SQUARE[0], lon=PEOPLES_SQUARE[1], **extra) -> dict:  # type: ignore[no-untyped-def]
    return {
        "name": name,
        "address": "黄浦区人民大道 1 号",
        "latitude": lat,
        "longitude": lon,
        "openingHours": "08:00-20:00",
        **extra,
    }


def create_point(gql, token, **kw) -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(POINT_CREATE, {"input": point_input(**kw)}, token=token)["pickupPointCreate"]
    assert payload["errors"] == [], payload
    return payload["pickupPoint"]  # type: ignore[no-any-return]


def create_group(gql, token, name="幸福小区团购群") -> dict:  # type: ignore[no-untyped-def]
    payload = gql.data(GROUP_CREATE, {"input": {"name": name}}, token=token)["communityGroupCreate"]
    assert payload["errors"] == [], payload
    return payload["communityGroup"]  # type: ignore[no-any-return]


def codes(payload: dict) -> set[tuple[str, tuple[str, ...] | None]]:
    return {(e["code"], tuple(e["field"]) if e["field"] else None) for e in payload["errors"]}


def count(owner_db, table, tenant) -> int:  # type: ignore[no-untyped-def]
    return owner_db.execute(f"SELECT count(*) FROM {table} WHERE tenant_id = %s", (tenant.uuid,)).fetchone()[
        0
    ]


def test_apply_approve_with_default_and_explicit_rate(gql, make_tenant, make_customer):  # type: ignore[no-untyped-def]
    tenant = make_tenant(defaultCommissionRate="0.12")
    customer = make_customer(tenant)
    payload = gql.data(
        LEADER_APPLY,
        {"input": {"displayName": " 王阿姨 ", "phone": "+86 139-0000-1111"}},
        token=customer.token,
    )["leaderApply"]
    assert payload["errors"] == []
    leader = payload["leader"]
    assert (
        leader["status"] == "PENDING"
        and leader["displayName"] == "王阿姨"
        and leader["phone"] == "+8613900001111"
    )
    me = gql.data(ME, token=customer.token)["me"]
    assert me["roles"] == ["CUSTOMER"] and me["leader"]["status"] == "PENDING"
    # One application per user per tenant.
    again = gql.data(
        LEADER_APPLY, {"input": {"displayName": "x", "phone": "+8613900002222"}}, token=customer.token
    )["leaderApply"]
    assert codes(again) == {("ALREADY_EXISTS", None)}
    approved = gql.data(LEADER_APPROVE, {"id": leader["id"]}, token=tenant.admin_token)["leaderApprove"]
    assert approved["errors"] == [] and approved["leader"]["status"] == "APPROVED"
    assert approved["leader"]["commissionRate"] == "0.12"
    me = gql.data(ME, token=customer.token)["me"]
    assert set(me["roles"]) == {"CUSTOMER", "LEADER"}
    # A later approval with a rate changes the rate only.
    again = gql.data(LEADER_APPROVE, {"id": leader["id"], "rate": "0.5"}, token=tenant.admin_token)[
        "leaderApprove"
    ]
    assert again["leader"]["commissionRate"] == "0.50" and again["leader"]["status"] == "APPROVED"


def test_rate_out_of_range_and_unknown_ids_change_nothing(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    tenant, other = make_tenant(), make_tenant()
    leader_id = apply(gql, tenant, make_customer(tenant))
    foreign = apply(gql, other, make_customer(other))
    for rate in ("0.51", "-0.01", "0.12345"):
        bad = gql.data(LEADER_APPROVE, {"id": leader_id, "rate": rate}, token=tenant.admin_token)[
            "leaderApprove"
        ]
        assert codes(bad) == {("INVALID", ("commissionRate",))}, rate
    for wrong in (foreign, "nope", global_id.encode("PickupPoint", global_id.decode(leader_id)[1])):
        for query, variables, name in (
            (LEADER_APPROVE, {"id": wrong}, "leaderApprove"),
            (LEADER_SUSPEND, {"id": wrong, "reason": "r"}, "leaderSuspend"),
            (LEADER_REJECT, {"id": wrong, "reason": "r"}, "leaderReject"),
        ):
            bad = gql.data(query, variables, token=tenant.admin_token)[name]
            assert codes(bad) == {("NOT_FOUND", ("id",))}, (name, wrong)
    bad = gql.data(LEADER_SUSPEND, {"id": leader_id, "reason": " "}, token=tenant.admin_token)[
        "leaderSuspend"
    ]
    assert codes(bad) == {("INVALID", ("reason",))}
    row = owner_db.execute(
        "SELECT status, commission_rate FROM leader WHERE id = %s", (global_id.decode(leader_id)[1],)
    ).fetchone()
    assert row == ("PENDING", None)
    assert owner_db.execute(
        "SELECT status FROM leader WHERE id = %s", (global_id.decode(foreign)[1],)
    ).fetchone() == ("PENDING",)
    customer = make_customer(tenant)
    bad = gql.data(LEADER_APPLY, {"input": {"displayName": "", "phone": "12ab"}}, token=customer.token)[
        "leaderApply"
    ]
    assert codes(bad) == {("INVALID", ("input", "displayName",)), ("INVALID", ("input", "phone",))}
    bad = gql.data(
        LEADER_APPLY, {"input": {"displayName": "x" * 101, "phone": "+8613900001111"}}, token=customer.token
    )["leaderApply"]
    assert codes(bad) == {("INVALID", ("input", "displayName",))}
    assert count(owner_db, "leader", tenant) == 1


def test_reject(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    customer = make_customer(tenant)
    leader_id = apply(gql, tenant, customer)
    rejected = gql.data(LEADER_REJECT, {"id": leader_id, "reason": "不在服务范围"}, token=tenant.admin_token)[
        "leaderReject"
    ]
    assert rejected["leader"]["status"] == "REJECTED" and rejected["leader"]["statusReason"] == "不在服务范围"
    assert codes(gql.data(LEADER_APPROVE, {"id": leader_id}, token=tenant.admin_token)["leaderApprove"]) == {
        ("CONFLICT", ("id",))
    }
    assert gql.data(ME, token=customer.token)["me"]["roles"] == ["CUSTOMER"]


def test_leaders_list_for_admins(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    approved = make_leader(gql, tenant, make_customer, "甲")
    pending = apply(gql, tenant, make_customer(tenant, "乙"), "乙")
    every = gql.data(LEADERS, token=tenant.admin_token)["leaders"]["edges"]
    assert [e["node"]["id"] for e in every] == [approved.id, pending]
    only = gql.data(LEADERS, {"status": "PENDING"}, token=tenant.admin_token)["leaders"]["edges"]
    assert [e["node"]["id"] for e in only] == [pending]
    assert gql(LEADERS, token=approved.token)["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_pickup_points_of_a_leader_and_suspension(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    leader = make_leader(gql, tenant, make_customer)
    point = create_point(gql, leader.token)
    assert point["leader"] == {"id": leader.id, "displayName": "王阿姨"}
    hidden = create_point(gql, leader.token, name="暂停的点", active=False)
    admin_point = create_point(
        gql, tenant.admin_token, name="管理员建的点", leaderId=leader.id, lat=31.24, lon=121.48
    )
    public = [e["node"]["id"] for e in gql.data(POINTS, tenant=tenant.slug)["pickupPoints"]["edges"]]
    assert public == [point["id"], admin_point["id"]]
    every = [e["node"]["id"] for e in gql.data(POINTS, token=tenant.admin_token)["pickupPoints"]["edges"]]
    assert every == [point["id"], hidden["id"], admin_point["id"]]
    me = gql.data(ME, token=leader.token)["me"]["leader"]
    assert [p["name"] for p in me["pickupPoints"]] == ["幸福小区自提点", "暂停的点", "管理员建的点"]
    assert gql.data(NODE, {"id": hidden["id"]}, tenant=tenant.slug)["node"] is None
    assert gql.data(NODE, {"id": hidden["id"]}, token=leader.token)["node"]["name"] == "暂停的点"
    assert gql.data(NODE, {"id": leader.id}, tenant=tenant.slug)["node"]["phone"] is None
    assert gql.data(NODE, {"id": leader.id}, token=leader.token)["node"]["phone"] == leader.phone

    suspended = gql.data(LEADER_SUSPEND, {"id": leader.id, "reason": "投诉较多"}, token=tenant.admin_token)[
        "leaderSuspend"
    ]
    assert suspended["errors"] == [] and suspended["leader"]["status"] == "SUSPENDED"
    assert gql.data(POINTS, tenant=tenant.slug)["pickupPoints"]["edges"] == []
    assert (
        gql.data(NEAREST, {"lat": PEOPLES_SQUARE[0], "lon": PEOPLES_SQUARE[1]}, tenant=tenant.slug)[
            "nearestPickupPoints"
        ]
        == []
    )
    assert gql.data(NODE, {"id": point["id"]}, tenant=tenant.slug)["node"] is None
    assert gql.data(NODE, {"id": leader.id}, tenant=tenant.slug)["node"] is None
    assert len(gql.data(POINTS, token=tenant.admin_token)["pickupPoints"]["edges"]) == 3
    # The suspended leader is a customer again: no more points, no more groups.
    me = gql.data(ME, token=leader.token)["me"]
    assert me["roles"] == ["CUSTOMER"] and me["leader"]["status"] == "SUSPENDED"
    refused = gql.data(POINT_CREATE, {"input": point_input()}, token=leader.token)["pickupPointCreate"]
    assert codes(refused) == {("FORBIDDEN", None)}
    refused = gql.data(GROUP_CREATE, {"input": {"name": "x"}}, token=leader.token)["communityGroupCreate"]
    assert codes(refused) == {("FORBIDDEN", None)}
    # Re-approval brings the points back.
    gql.data(LEADER_APPROVE, {"id": leader.id}, token=tenant.admin_token)
    assert len(gql.data(POINTS, tenant=tenant.slug)["pickupPoints"]["edges"]) == 2


def test_pickup_point_validation_changes_nothing(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    tenant, other = make_tenant(), make_tenant()
    leader = make_leader(gql, tenant, make_customer)
    other_leader = make_leader(gql, tenant, make_customer, "别人")
    foreign_leader = make_leader(gql, other, make_customer, "外人")
    point = create_point(gql, leader.token)
    before = count(owner_db, "pickup_point", tenant)
    bad = gql.data(
        POINT_CREATE,
        {"input": point_input(name="", lat=90.5, lon=-180.01, address="a" * 501)},
        token=leader.token,
    )["pickupPointCreate"]
    assert codes(bad) == {
        ("INVALID", ("input", "name",)),
        ("INVALID", ("input", "latitude",)),
        ("INVALID", ("input", "longitude",)),
        ("INVALID", ("input", "address",)),
    }
    for lat, lon in ((-91, 0), (0, 181)):
        bad = gql.data(POINT_CREATE, {"input": point_input(lat=lat, lon=lon)}, token=leader.token)[
            "pickupPointCreate"
        ]
        assert {c for c, _ in codes(bad)} == {"INVALID"}
    ok = gql.data(
        POINT_CREATE, {"input": point_input(lat=-90, lon=180)}, token=tenant.admin_token
    )  # admins need leaderId
    assert codes(ok["pickupPointCreate"]) == {("NOT_FOUND", ("input", "leaderId",))}
    for wrong in (foreign_leader.id, "garbage", point["id"]):
        bad = gql.data(POINT_CREATE, {"input": point_input(leaderId=wrong)}, token=tenant.admin_token)
        assert codes(bad["pickupPointCreate"]) == {("NOT_FOUND", ("input", "leaderId",))}, wrong
    # A leader cannot create for, or update the points of, another leader.
    bad = gql.data(POINT_CREATE, {"input": point_input(leaderId=other_leader.id)}, token=leader.token)
    assert codes(bad["pickupPointCreate"]) == {("FORBIDDEN", None)}
    bad = gql.data(
        POINT_UPDATE, {"id": point["id"], "input": point_input(name="改名")}, token=other_leader.token
    )
    assert codes(bad["pickupPointUpdate"]) == {("FORBIDDEN", None)}
    bad = gql.data(
        POINT_UPDATE,
        {"id": point["id"], "input": point_input(name="改名", leaderId=other_leader.id)},
        token=tenant.admin_token,
    )
    assert codes(bad["pickupPointUpdate"]) == {("INVALID", ("input", "leaderId",))}
    bad = gql.data(
        POINT_UPDATE, {"id": point["id"], "input": point_input(name="改名", lat=100)}, token=leader.token
    )
    assert codes(bad["pickupPointUpdate"]) == {("INVALID", ("input", "latitude",))}
    for wrong in (leader.id, "garbage"):
        bad = gql.data(POINT_UPDATE, {"id": wrong, "input": point_input()}, token=tenant.admin_token)
        assert codes(bad["pickupPointUpdate"]) == {("NOT_FOUND", ("id",))}
    assert count(owner_db, "pickup_point", tenant) == before
    assert owner_db.execute(
        "SELECT name FROM pickup_point WHERE id = %s", (global_id.decode(point["id"])[1],)
    ).fetchone() == ("幸福小区自提点",)
    updated = gql.data(
        POINT_UPDATE,
        {"id": point["id"], "input": point_input(name="改名", active=False, leaderId=leader.id)},
        token=leader.token,
    )["pickupPointUpdate"]
    assert (
        updated["errors"] == []
        and updated["pickupPoint"]["name"] == "改名"
        and not updated["pickupPoint"]["active"]
    )


def test_groups_invite_codes_and_idempotent_join(gql, tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    leader = make_leader(gql, tenant, make_customer)
    group = create_group(gql, leader.token)
    code = group["inviteCode"]
    assert (
        len(code) == 10
        and code.isalnum()
        and group["memberCount"] == 0
        and group["leader"]["id"] == leader.id
    )
    other_group = create_group(gql, leader.token, "第二个群")
    assert other_group["inviteCode"] != code
    alice, bob = make_customer(tenant), make_customer(tenant)
    joined = gql.data(GROUP_JOIN, {"code": code}, token=alice.token)["communityGroupJoin"]
    assert joined["errors"] == [] and joined["communityGroup"]["memberCount"] == 1
    again = gql.data(GROUP_JOIN, {"code": code.lower()}, token=alice.token)["communityGroupJoin"]
    assert again["errors"] == [] and again["communityGroup"]["memberCount"] == 1
    assert (
        gql.data(GROUP_JOIN, {"code": code}, token=bob.token)["communityGroupJoin"]["communityGroup"][
            "memberCount"
        ]
        == 2
    )
    assert (
        owner_db.execute(
            "SELECT count(*) FROM group_member WHERE group_id = %s", (global_id.decode(group["id"])[1],)
        ).fetchone()[0]
        == 2
    )
    # The invite code is the leader's and the admins' only.
    body = gql(
        "query($id: ID!) { node(id: $id) { ... on CommunityGroup { name inviteCode } } }",
        {"id": group["id"]},
        token=alice.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    for token in (leader.token, tenant.admin_token):
        got = gql.data(
            "query($id: ID!) { node(id: $id) { ... on CommunityGroup { inviteCode memberCount } } }",
            {"id": group["id"]},
            token=token,
        )["node"]
        assert got == {"inviteCode": code, "memberCount": 2}
    groups = gql.data(ME, token=leader.token)["me"]["leader"]["communityGroups"]
    assert [(g["name"], g["memberCount"]) for g in groups] == [("幸福小区团购群", 2), ("第二个群", 0)]
    bad = gql.data(GROUP_JOIN, {"code": "NOSUCHCODE"}, token=alice.token)["communityGroupJoin"]
    assert codes(bad) == {("NOT_FOUND", ("inviteCode",))}
    bad = gql.data(GROUP_CREATE, {"input": {"name": " "}}, token=leader.token)["communityGroupCreate"]
    assert codes(bad) == {("INVALID", ("input", "name",))}
    assert count(owner_db, "community_group", tenant) == 2


def test_invite_code_of_another_tenant_is_not_found(gql, make_tenant, make_customer, owner_db):  # type: ignore[no-untyped-def]
    a, b = make_tenant(), make_tenant()
    code = create_group(gql, make_leader(gql, a, make_customer).token)["inviteCode"]
    stranger = make_customer(b)
    bad = gql.data(GROUP_JOIN, {"code": code}, token=stranger.token)["communityGroupJoin"]
    assert codes(bad) == {("NOT_FOUND", ("inviteCode",))}
    assert count(owner_db, "group_member", a) == 0 and count(owner_db, "group_member", b) == 0


def test_attributed_leader(gql, tenant, make_customer, services):  # type: ignore[no-untyped-def]
    """The function the ordering code calls: membership in one of the point's leader's groups."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from service.db import app_url, tenant_transaction
    from service.leaders.operations import attributed_leader, orderable_pickup_point

    leader = make_leader(gql, tenant, make_customer, "甲")
    other = make_leader(gql, tenant, make_customer, "乙")
    point = create_point(gql, leader.token)
    member, outsider = make_customer(tenant), make_customer(tenant)
    gql.data(GROUP_JOIN, {"code": create_group(gql, leader.token)["inviteCode"]}, token=member.token)
    ids = {
        name: global_id.decode(gid)[1]
        for name, gid in (
            ("leader", leader.id),
            ("other", other.id),
            ("member", member.user_id),
            ("outsider", outsider.user_id),
            ("point", point["id"]),
        )
    }

    async def check() -> tuple:
        engine = create_async_engine(app_url())
        try:
            async with tenant_transaction(tenant.uuid, engine=engine) as session:
                answers = [
                    await attributed_leader(session, tenant_id=tenant.uuid, user_id=ids[u], leader_id=ids[ld])
                    for u, ld in (("member", "leader"), ("outsider", "leader"), ("member", "other"))
                ]
                orderable = await orderable_pickup_point(
                    session, tenant_id=tenant.uuid, pickup_point_id=ids["point"]
                )
            return tuple(answers), orderable is not None
        finally:
            await engine.dispose()

    assert asyncio.run(check()) == ((True, False, False), True)
    gql.data(LEADER_SUSPEND, {"id": leader.id, "reason": "r"}, token=tenant.admin_token)
    assert asyncio.run(check())[1] is False


def test_sign_in_as_leader_has_leader_role(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    leader = make_leader(gql, tenant, make_customer)
    token = sign_in(gql, tenant.slug, leader.phone, "customer-pass-1")
    me = gql.data(ME, token=token)["me"]
    assert set(me["roles"]) == {"CUSTOMER", "LEADER"} and me["leader"]["id"] == leader.id


def test_sibling_fields_share_the_request_transaction_safely(gql, tenant, make_customer):  # type: ignore[no-untyped-def]
    """Sibling fields resolve concurrently; they must not trip over the one per-request session."""
    leader = make_leader(gql, tenant, make_customer)
    point = create_point(gql, leader.token)
    group = create_group(gql, leader.token)
    query = """query($p: ID!, $g: ID!, $l: ID!) {
      me { roles leader { id pickupPoints { id } } supplier { id } }
      a: node(id: $p) { id } b: node(id: $g) { id } c: node(id: $l) { id }
      pickupPoints { edges { node { id leader { id } } } }
      nearestPickupPoints(latitude: 31.2, longitude: 121.4) { pickupPoint { id } }
    }"""
    for _ in range(5):
        data = gql.data(query, {"p": point["id"], "g": group["id"], "l": leader.id}, token=leader.token)
        assert data["me"]["leader"]["pickupPoints"] == [{"id": point["id"]}]
        assert (data["a"]["id"], data["b"]["id"], data["c"]["id"]) == (point["id"], group["id"], leader.id)
        assert data["nearestPickupPoints"][0]["pickupPoint"]["id"] == point["id"]


def test_demo_seed_logins_work(gql, seeded_tenant):  # type: ignore[no-untyped-def]
    from service.catalog.demo import SUPPLIER_LOGIN
    from service.leaders.demo import LEADER_LOGIN, MEMBER_LOGIN

    tenant = seeded_tenant()
    leader = gql.data(ME, token=sign_in(gql, tenant.slug, *LEADER_LOGIN))["me"]
    assert "LEADER" in leader["roles"] and len(leader["leader"]["pickupPoints"]) == 3
    assert leader["leader"]["communityGroups"][0]["memberCount"] >= 1
    supplier = gql.data(
        "{ me { roles supplier { name products { edges { node { cost { amount } } } } } } }",
        token=sign_in(gql, tenant.slug, *SUPPLIER_LOGIN),
    )["me"]
    assert "SUPPLIER" in supplier["roles"] and supplier["supplier"]["products"]["edges"]
    assert gql.data(ME, token=sign_in(gql, tenant.slug, *MEMBER_LOGIN))["me"]["roles"] == ["CUSTOMER"]
    near = gql.data(NEAREST, {"lat": 31.2237, "lon": 121.4453, "first": 3}, tenant=tenant.slug)[
        "nearestPickupPoints"
    ]
    assert near[0]["pickupPoint"]["name"] == "静安寺社区便利店" and near[0]["distanceMeters"] < 1
