"""A leader's monthly statement a page at a time: a busy month has thousands of entries, and
reading them all at once is the client's choice, not the only way (linesConnection, or first/after
on lines). Pages join into exactly the whole statement, balances included, ties in time too."""

from __future__ import annotations

from tests.ledger_world import money_world

LINES = """query($m: String!, $first: Int, $after: String) { leaderStatement(month: $m) {
  opening { amount } closing { amount } lines(first: $first, after: $after) { entry { id } balance { amount } } } }"""
PAGE = """query($m: String!, $first: Int, $after: String) { leaderStatement(month: $m) {
  linesConnection(first: $first, after: $after) { totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { entry { id kind } balance { amount } } } } } }"""


def _month(owner_db, tenant) -> str:  # type: ignore[no-untyped-def]
    return owner_db.execute("SELECT to_char(now() AT TIME ZONE timezone, 'YYYY-MM') FROM tenant WHERE id = %s",
                            (tenant.uuid,)).fetchone()[0]


def test_a_busy_months_statement_pages_into_exactly_the_whole(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = money_world(owner_db, tenant.uuid, orders=1)
    # 250 entries this month: 100 a millisecond apart, then 150 written at one instant (ordered by seq).
    insert = ("INSERT INTO ledger_entry (tenant_id, beneficiary_id, leader_id, kind, currency, amount_minor, "
              "available_minor, reason, at) SELECT %s, %s, %s, 'ADJUSTMENT', 'CNY', n, n, 'x', {at} "
              "FROM generate_series(1, %s) n")
    args = (tenant.uuid, world.leader_user_id, world.leader_id)
    owner_db.execute(insert.format(at="now() - interval '1 second' + n * interval '1 millisecond'"), (*args, 100))
    owner_db.execute(insert.format(at="now()"), (*args, 150))
    month, token = _month(owner_db, tenant), world.leader_token

    whole = gql.data(LINES, {"m": month}, token=token)["leaderStatement"]
    assert len(whole["lines"]) == 250, "without first: every line, as before"
    expected = [(ln["entry"]["id"], ln["balance"]["amount"]) for ln in whole["lines"]]
    assert expected[-1][1] == whole["closing"]["amount"]

    got, after, pages = [], None, []
    while True:
        conn = gql.data(PAGE, {"m": month, "first": 100, "after": after}, token=token)["leaderStatement"][
            "linesConnection"]
        assert conn["totalCount"] == 250
        assert conn["pageInfo"]["hasPreviousPage"] is (after is not None)
        got += [(e["node"]["entry"]["id"], e["node"]["balance"]["amount"]) for e in conn["edges"]]
        pages.append(len(conn["edges"]))
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        assert after == conn["edges"][-1]["cursor"]
    assert pages == [100, 100, 50] and got == expected

    # first/after on lines: the same pages.
    cursor = gql.data(PAGE, {"m": month, "first": 30}, token=token)["leaderStatement"]["linesConnection"][
        "pageInfo"]["endCursor"]
    page = gql.data(LINES, {"m": month, "first": 100, "after": cursor}, token=token)["leaderStatement"]["lines"]
    assert [(ln["entry"]["id"], ln["balance"]["amount"]) for ln in page] == expected[30:130]
    default = gql.data(PAGE, {"m": month}, token=token)["leaderStatement"]["linesConnection"]
    assert len(default["edges"]) == 50 and default["pageInfo"]["hasNextPage"]


def test_a_page_is_at_most_the_maximum_and_a_bad_cursor_is_refused(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    world = money_world(owner_db, tenant.uuid, orders=1)
    month = _month(owner_db, tenant)
    for query in (LINES, PAGE):
        for variables, code in (({"first": 101}, "PAGE_SIZE_EXCEEDED"), ({"first": 0}, "INVALID"),
                                ({"first": 5, "after": "not-a-cursor"}, "INVALID")):
            body = gql(query, {"m": month, **variables}, token=world.leader_token)
            assert [e["extensions"]["code"] for e in body["errors"]] == [code], (query, variables, body)
