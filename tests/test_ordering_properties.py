"""A property test: whatever sequence of place / replay / cancel / pay / expire happens, every
offer's books balance — soldQuantity + remainingStock = stockLimit, soldQuantity equals the sum
of its ACTIVE lines, and every customer's counter equals their ACTIVE lines and stays within the
per-customer limit."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service import global_id
from tests.ordering_fixtures import (
    OFFER_QUERY,
    ORDER_CANCEL,
    ORDER_MARK_PAID,
    ORDER_PLACE,
    bulk_customers,
    make_world,
    offer_input,
    open_batch_with_offers,
    place_input,
    run_domain,
)
from tests.reliability.invariants import SOLD_SQL

CUSTOMERS = 3

op = st.one_of(
    st.tuples(st.just("place"), st.integers(0, CUSTOMERS - 1), st.integers(0, 3), st.integers(0, 3)),
    st.tuples(st.just("replay"), st.integers(0, 20)),
    st.tuples(st.just("cancel"), st.integers(0, 20)),
    st.tuples(st.just("pay"), st.integers(0, 20)),
    st.tuples(st.just("expire"), st.integers(0, 20)),
)


def _check_books(gql, owner_db, tenant, batch) -> None:  # type: ignore[no-untyped-def]
    for offer in batch["offers"]:
        offer_id = global_id.decode_as(offer["id"], "Offer")
        sold, limit, per_customer = owner_db.execute(
            f"SELECT {SOLD_SQL}, stock_limit, per_customer_limit FROM offer o WHERE id = %s", (offer_id,)
        ).fetchone()
        active = owner_db.execute(
            "SELECT coalesce(sum(quantity), 0) FROM order_line WHERE offer_id = %s AND status = 'ACTIVE'",
            (offer_id,),
        ).fetchone()[0]
        assert sold == active
        assert 0 <= sold and (limit is None or sold <= limit)
        shown = gql.data(OFFER_QUERY, {"id": offer["id"]}, tenant=tenant.slug)["node"]
        assert shown["soldQuantity"] == sold
        if limit is None:
            assert shown["remainingStock"] is None
        else:
            assert shown["soldQuantity"] + shown["remainingStock"] == shown["stockLimit"] == limit
        held = dict(
            owner_db.execute(
                "SELECT o.customer_id, sum(l.quantity) FROM order_line l "
                "JOIN customer_order o ON o.tenant_id = l.tenant_id AND o.id = l.order_id "
                "WHERE l.offer_id = %s AND l.status = 'ACTIVE' GROUP BY o.customer_id",
                (offer_id,),
            ).fetchall()
        )
        counters = dict(
            owner_db.execute(
                "SELECT customer_id, quantity FROM offer_customer_quantity WHERE offer_id = %s", (offer_id,)
            ).fetchall()
        )
        if per_customer is not None:
            assert {c: q for c, q in counters.items() if q} == held
            assert all(q <= per_customer for q in held.values())
    mismatched = owner_db.execute(
        "SELECT count(*) FROM customer_order o "
        "JOIN order_line l ON l.tenant_id = o.tenant_id AND l.order_id = o.id "
        "WHERE o.batch_id = %s AND (o.status = 'CANCELLED') <> (l.status = 'CANCELLED')",
        (global_id.decode_as(batch["id"], "Batch"),),
    ).fetchone()[0]
    assert mismatched == 0


def test_books_balance_under_any_sequence(gql, tenant, owner_db):  # type: ignore[no-untyped-def]
    from service.orders.expiry import expire_unpaid_orders

    world = make_world(owner_db, tenant, products=2)
    customers = [token for _, token in bulk_customers(owner_db, tenant, CUSTOMERS)]

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        ops=st.lists(op, min_size=1, max_size=12),
        stock=st.integers(1, 6),
        per_customer=st.one_of(st.none(), st.integers(1, 3)),
    )
    def run(ops: list[tuple[Any, ...]], stock: int, per_customer: int | None) -> None:
        batch = open_batch_with_offers(
            gql,
            world,
            [
                offer_input(world, 0, stockLimit=stock, perCustomerLimit=per_customer),
                offer_input(world, 1, perCustomerLimit=2),
            ],
        )
        placed: list[tuple[str, str, dict]] = []  # (order id, token, request)
        for step in ops:
            if step[0] == "place":
                _, who, qa, qb = step
                lines = [(i, q) for i, q in ((0, qa), (1, qb)) if q]
                if not lines:
                    continue
                request = place_input(batch, world, lines)
                got = gql.data(ORDER_PLACE, request, token=customers[who])["orderPlace"]
                if got["order"]:
                    placed.append((got["order"]["id"], customers[who], request))
                else:
                    assert {e["code"] for e in got["errors"]} <= {"OUT_OF_STOCK", "LIMIT_EXCEEDED"}, got
            elif placed:
                order_id, token, request = placed[step[1] % len(placed)]
                if step[0] == "replay":
                    again = gql.data(ORDER_PLACE, request, token=token)["orderPlace"]
                    assert again["order"]["id"] == order_id
                elif step[0] == "cancel":
                    assert gql.data(ORDER_CANCEL, {"id": order_id}, token=token)["orderCancel"]["order"]
                elif step[0] == "pay":
                    gql.data(
                        ORDER_MARK_PAID, {"id": order_id, "ref": f"pay-{order_id}"}, token=tenant.api_key
                    )
                else:
                    owner_db.execute(
                        "UPDATE customer_order SET created_at = created_at - interval '1 hour' WHERE id = %s",
                        (global_id.decode_as(order_id, "Order"),),
                    )
                    run_domain(lambda e: expire_unpaid_orders(tenant.uuid, engine=e))
            _check_books(gql, owner_db, tenant, batch)

    run()
