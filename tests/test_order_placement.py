"""orderPlace as one statement (the place_order() function): who may order, a taken pickup code
drawn again, a document that cancels then orders, the payload from the written row, verified
tokens remembered no longer than they are valid."""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from datetime import timedelta

import psycopg
import pytest

from service import global_id
from service.errors import AuthError, PermissionDenied
from tests.ordering_fixtures import (
    ORDER_FIELDS,
    ORDER_PLACE,
    bulk_customers,
    make_world,
    offer_input,
    offer_state,
    open_batch_with_offers,
    place_input,
)


def _errors(payload):  # type: ignore[no-untyped-def]
    return [(e["code"], e["field"]) for e in payload["errors"]]


def _uuid(gid: str) -> uuid.UUID:
    return global_id.decode(gid)[1]  # type: ignore[index]


def test_only_an_enabled_customer_account_orders(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=5)])
    # an admin's token is not a customer's, whatever the input: FORBIDDEN comes first
    for lines in ([(0, 1)], [(0, 0)]):
        got = gql.data(ORDER_PLACE, place_input(batch, world, lines), token=tenant.admin_token)["orderPlace"]
        assert _errors(got) == [("FORBIDDEN", None)] and got["order"] is None
    customer = make_customer(tenant)
    assert gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "errors"
    ] == []
    owner_db.execute("UPDATE app_user SET disabled_at = now() WHERE id = %s", (_uuid(customer.user_id),))
    body = gql(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (1, 5, 1)


def test_order_place_checks_the_account_in_its_own_statement(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    """orderPlace alone skips the request's account check: place_order() makes it, token version
    included, and a refusal is answered as the check before execution answers it (401)."""
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=5)])
    customer = make_customer(tenant)
    assert gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"][
        "errors"] == []
    # a password changed elsewhere: the token is older than the account's token version
    owner_db.execute("UPDATE app_user SET token_version = token_version + 1 WHERE id = %s",
                     (_uuid(customer.user_id),))
    alone = gql.post(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)
    assert alone.status_code == 401 and alone.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    # the same with a field that needs the check before execution
    both = ORDER_PLACE.rstrip().removesuffix("}") + ' orderCancel(id: "T3JkZXI6MA==") { errors { code } } }'
    mixed = gql.post(both, place_input(batch, world, [(0, 1)]), token=customer.token)
    assert mixed.status_code == 401 and mixed.json()["errors"][0]["extensions"]["code"] == "TOKEN_EXPIRED"
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (1, 5, 1)  # nothing more was sold


def test_only_order_place_documents_skip_the_request_account_check() -> None:
    from service.schema import schema
    from service.schema.view import GraphQLView, _only_fields

    view = GraphQLView(schema())
    assert view._own_check_fields() == {"orderPlace"}
    assert _only_fields("mutation { orderPlace(input: {}) { errors { code } } }", view._own_check_fields())
    assert _only_fields("mutation { a: orderPlace(input: {}) { errors { code } } "
                        "b: orderPlace(input: {}) { errors { code } } }", view._own_check_fields())
    for document in (
        "mutation { orderPlace(input: {}) { errors { code } } me { userId } }",  # another field
        "mutation { ...F } fragment F on Mutation { orderPlace(input: {}) { errors { code } } }",
        "mutation { orderPlace(input: {}) @include(if: true) { errors { code } } }",
        "query { orderPlace }",  # not a mutation
        "mutation A { orderPlace(input: {}) { errors { code } } } query B { me { userId } }",
        "mutation { orderPlace(",  # does not parse: checked, and refused by validation later
    ):
        assert not _only_fields(document, view._own_check_fields()), document


def test_cancel_then_order_in_one_document(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    """The placement runs on a connection of its own: what the request already wrote (and
    locked) commits first, so it neither waits on its own request nor is lost."""
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=1, perCustomerLimit=1)])
    customer = make_customer(tenant)
    first = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]
    assert first["errors"] == []
    document = """
mutation($id: ID!, $input: OrderPlaceInput!) {
  c: orderCancel(id: $id) { order { id status } errors { code field } }
  p: orderPlace(input: $input) { order { id lines { quantity } } errors { code field } }
}"""
    got = gql.data(document, {"id": first["order"]["id"], **place_input(batch, world, [(0, 1)])},
                   token=customer.token)
    assert got["c"]["errors"] == [] and got["c"]["order"]["status"] == "CANCELLED"
    assert got["p"]["errors"] == [] and got["p"]["order"]["lines"] == [{"quantity": 1}]
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (1, 1, 1)


def test_the_payload_is_the_written_order(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, price="2.50"), offer_input(world, 1)])
    customer = make_customer(tenant, "Ada")
    placed = gql.data(ORDER_PLACE, place_input(batch, world, [(1, 1), (0, 4)], key="same"),
                      token=customer.token)["orderPlace"]
    replay = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 4), (1, 1)], key="same"),
                      token=customer.token)["orderPlace"]
    read = gql.data(f"query($id: ID!) {{ order(id: $id) {{ {ORDER_FIELDS} }} }}", {"id": placed["order"]["id"]},
                    token=customer.token)["order"]
    for got in (placed["order"], replay["order"]):
        assert got["id"] == read["id"] and got["number"] == read["number"]
        assert got["pickupCode"] == read["pickupCode"] and got["placedAt"] == read["placedAt"]
        assert got["customerName"] == "Ada" and got["total"] == read["total"]
        assert [line["productName"] for line in got["lines"]] == ["Product 1", "Product 0"]
    number = owner_db.execute("SELECT number FROM customer_order WHERE id = %s",
                              (_uuid(placed["order"]["id"]),)).fetchone()[0]
    assert number == placed["order"]["number"]
    event = owner_db.execute(
        "SELECT payload FROM outbox_event WHERE event = 'ORDER_PLACED' AND subject_id = %s",
        (_uuid(placed["order"]["id"]),),
    ).fetchall()
    assert [e[0]["number"] for e in event] == [number]


def _place_alone(app_db_url, tenant_uuid, customer_id, world, batch, code):  # type: ignore[no-untyped-def]
    """place_order_alone with the first pickup code fixed to `code`."""
    from service.accounts.models import PaymentMode
    from service.orders import placement
    from service.tenants.principal import TenantInfo

    tenant = TenantInfo(id=tenant_uuid, slug="t", name="t", timezone="UTC", currency="CNY",
                        payment_mode=PaymentMode.PAY_AT_PICKUP, default_commission_rate=0,  # type: ignore[arg-type]
                        payment_window_minutes=30)

    async def main() -> placement.Placed:
        async with await psycopg.AsyncConnection.connect(app_db_url, autocommit=True) as conn:
            original = placement.new_pickup_code
            placement.new_pickup_code = lambda: code  # type: ignore[assignment]
            try:
                return await placement.place_order_alone(
                    conn, tenant=tenant, customer_id=customer_id, batch_id=_uuid(batch["id"]),
                    pickup_point_id=world.point_id, idempotency_key=uuid.uuid4().hex,
                    lines=[placement.LineSpec(_uuid(batch["offers"][0]["id"]), 1)],
                )
            finally:
                placement.new_pickup_code = original  # type: ignore[assignment]

    return asyncio.run(main())


def test_a_taken_pickup_code_is_drawn_again(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    (a, _), (b, _) = bulk_customers(owner_db, tenant, 2)
    first = _place_alone(app_db_url, tenant.uuid, a, world, batch, "123456")
    assert first.order.pickup_code == "123456" and not first.replayed
    second = _place_alone(app_db_url, tenant.uuid, b, world, batch, "123456")
    code = second.order.pickup_code
    assert code != "123456" and len(code) == 6 and code.isdigit()
    codes = owner_db.execute("SELECT pickup_code FROM customer_order WHERE batch_id = %s ORDER BY created_at",
                             (_uuid(batch["id"]),)).fetchall()
    assert [c[0] for c in codes] == ["123456", code]


def test_refusals_leave_nothing_written(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    from service.errors import UserErrors

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=1)])
    (a, _), (b, _) = bulk_customers(owner_db, tenant, 2)
    _place_alone(app_db_url, tenant.uuid, a, world, batch, "000001")
    with pytest.raises(UserErrors) as refused:
        _place_alone(app_db_url, tenant.uuid, b, world, batch, "000002")
    assert [(e.code.value, e.message, e.field) for e in refused.value.errors] == [
        ("OUT_OF_STOCK", "Only 0 left.", ["lines", "0", "quantity"])]
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = %s", (b,)).fetchone() == (0,)
    assert owner_db.execute("SELECT count(*) FROM outbox_event WHERE payload->>'customerId' = %s",
                            (str(b),)).fetchone() == (0,)
    # the tenant admin's account is no customer's
    admin = owner_db.execute("SELECT id FROM app_user WHERE tenant_id = %s AND kind = 'ADMIN'",
                             (tenant.uuid,)).fetchone()[0]
    with pytest.raises(PermissionDenied):
        _place_alone(app_db_url, tenant.uuid, admin, world, batch, "000003")
    with pytest.raises(AuthError):
        _place_alone(app_db_url, tenant.uuid, uuid.uuid4(), world, batch, "000004")


def test_pickup_codes_are_six_uniform_digits_and_a_forked_child_draws_its_own():  # type: ignore[no-untyped-def]
    import collections
    import os

    from service.orders import numbers

    codes = [numbers.new_pickup_code() for _ in range(20_000)]  # several reads of the OS's bytes
    assert all(len(c) == 6 and c.isdigit() for c in codes)
    assert len(set(codes)) > 19_500  # 20,000 draws from a million: ~200 repeats expected
    first = collections.Counter(c[0] for c in codes)
    assert set(first) == set("0123456789") and max(first.values()) < 2_300  # ~2,000 each
    numbers.new_pickup_code()  # the parent holds unused bytes when it forks
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its codes, then out without running anything of pytest's
        try:
            os.write(write, ",".join(numbers.new_pickup_code() for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split(",")
    os.waitpid(pid, 0)
    parent = [numbers.new_pickup_code() for _ in range(50)]
    assert len(child) == 50 and child != parent


def test_a_remembered_token_is_not_used_past_its_expiry(monkeypatch, services):  # type: ignore[no-untyped-def]
    from service.accounts.credentials import issue_user_token
    from service.tenants import resolution

    monkeypatch.setattr(resolution, "_tokens", {})
    token = issue_user_token(tenant_id=uuid.uuid4(), user_id=uuid.uuid4())
    payload = token.split(".")[1]
    exp = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"]
    claims = resolution.user_claims(token)

    verified: list[str] = []

    def refuse(token: str):  # type: ignore[no-untyped-def]
        verified.append(token)
        raise AuthError("TOKEN_EXPIRED", "The token has expired; sign in again.")

    monkeypatch.setattr(resolution, "read_user_token", refuse)
    now = time.time()
    monkeypatch.setattr(resolution, "_clock", lambda: now + 1)
    assert resolution.user_claims(token) == claims and verified == []  # remembered
    monkeypatch.setattr(resolution, "_clock", lambda: now + resolution._TOKEN_TTL + 1)
    with pytest.raises(AuthError):  # a minute later it is verified again
        resolution.user_claims(token)
    assert verified == [token]
    # close to its expiry, a token is remembered only until then
    resolution._tokens.clear()
    monkeypatch.setattr(resolution, "read_user_token", lambda t: claims)
    monkeypatch.setattr(resolution, "_clock", lambda: exp - 5)
    resolution.user_claims(token)
    assert resolution._tokens[token][0] == exp
    monkeypatch.setattr(resolution, "read_user_token", refuse)
    monkeypatch.setattr(resolution, "_clock", lambda: exp)
    with pytest.raises(AuthError):
        resolution.user_claims(token)


def test_placements_reuse_pooled_connections_and_replace_dead_ones(gql, tenant, owner_db, make_customer):  # type: ignore[no-untyped-def]
    from service.config import get_settings

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0, stockLimit=10)])
    customer = make_customer(tenant)
    role = get_settings().app_db_role

    def place() -> None:
        got = gql.data(ORDER_PLACE, place_input(batch, world, [(0, 1)]), token=customer.token)["orderPlace"]
        assert got["errors"] == [], got

    def app_backends() -> set[int]:
        rows = owner_db.execute("SELECT pid FROM pg_stat_activity WHERE usename = %s AND datname = "
                                "current_database()", (role,)).fetchall()
        return {r[0] for r in rows}

    place()
    before = app_backends()
    for _ in range(3):
        place()
    assert app_backends() == before  # no new connection per order
    # the server ends every idle connection of the API (as a restart would)
    owner_db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s "
                     "AND datname = current_database()", (role,))
    place()  # on a new connection, once
    place()
    assert offer_state(owner_db, batch["offers"][0]["id"]) == (6, 10, 6)


def test_the_cutoff_passing_while_an_order_waits_for_stock_refuses_it(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    """Alone, place_order() checks the cutoff itself after its last lock wait (the deferred trigger
    does not run for it): the order passes every check at the start, waits for the offer row that
    another transaction holds, the cutoff passes meanwhile, and it is refused with nothing written."""
    import threading

    from service.errors import UserErrors

    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    batch_id, offer_id = _uuid(batch["id"]), _uuid(batch["offers"][0]["id"])
    (customer, _), = bulk_customers(owner_db, tenant, 1)
    outcome: dict[str, object] = {}

    def place() -> None:
        try:
            outcome["placed"] = _place_alone(app_db_url, tenant.uuid, customer, world, batch, "424242")
        except Exception as e:  # noqa: BLE001
            outcome["refused"] = e

    with psycopg.connect(owner_db.info.dsn, password=owner_db.info.password, autocommit=True) as holder:
        with holder.transaction():
            holder.execute("SELECT 1 FROM offer WHERE id = %s FOR UPDATE", (offer_id,))
            closes_at = owner_db.execute(
                "UPDATE batch SET closes_at = clock_timestamp() + interval '2 seconds' WHERE id = %s "
                "RETURNING closes_at", (batch_id,)).fetchone()[0]
            worker = threading.Thread(target=place)
            worker.start()
            # Until the order waits on the offer row (it passed the batch check before that).
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not owner_db.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE '%%place_order(%%'").fetchone()[0]:
                time.sleep(0.05)
            while owner_db.execute("SELECT clock_timestamp() <= %s", (closes_at,)).fetchone()[0]:
                time.sleep(0.1)
        worker.join(30)
    assert "placed" not in outcome, outcome
    refused = outcome["refused"]
    assert isinstance(refused, UserErrors), refused
    assert [(e.code.value, e.field) for e in refused.errors] == [("BATCH_NOT_OPEN", ["batchId"])]
    assert "before the order went through" in refused.errors[0].message
    assert owner_db.execute("SELECT count(*) FROM customer_order WHERE customer_id = %s", (customer,)).fetchone() == (0,)
    assert offer_state(owner_db, batch["offers"][0]["id"])[0] == 0


def test_an_order_placed_alone_records_its_check_and_skips_the_commit_trigger(gql, tenant, owner_db, app_db_url):  # type: ignore[no-untyped-def]
    world = make_world(owner_db, tenant)
    batch = open_batch_with_offers(gql, world, [offer_input(world, 0)])
    (customer, _), = bulk_customers(owner_db, tenant, 1)

    def counts() -> tuple[int, int]:
        owner_db.execute("SELECT pg_stat_clear_snapshot()")
        return owner_db.execute("SELECT n_tup_ins, n_tup_upd FROM pg_stat_user_tables "
                                "WHERE relname = 'customer_order'").fetchone()

    inserted, updated = counts()
    placed = _place_alone(app_db_url, tenant.uuid, customer, world, batch, "171717")
    deadline = time.monotonic() + 30  # the placing backend reports its counts as it exits
    while counts()[0] == inserted and time.monotonic() < deadline:
        time.sleep(0.1)
    # Written once: the deferred trigger, had it run, would have updated the row it checked.
    assert counts() == (inserted + 1, updated)
    checked, created, closes_at = owner_db.execute(
        "SELECT o.commit_checked_at, o.created_at, b.closes_at FROM customer_order o "
        "JOIN batch b ON b.id = o.batch_id WHERE o.id = %s", (placed.order.id,)).fetchone()
    # Both come from clock_timestamp() in the one INSERT, in an order PostgreSQL does not fix
    # (the column default may be read after the VALUES list): equal to within the statement.
    assert checked is not None and abs(checked - created) < timedelta(seconds=1) and checked < closes_at
    assert placed.order.commit_checked_at == checked
