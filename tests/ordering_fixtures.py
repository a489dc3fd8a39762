"""Fixtures for the batch and ordering tests: catalog and community rows made directly in SQL
(fast, and independent of the catalog API), batches through the API, domain jobs run in-process
with their own engine, customers in bulk."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import psycopg

from service import global_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.reliability.invariants import SOLD_SQL

T = TypeVar("T")

BATCH_CREATE = """
mutation($input: BatchCreateInput!) {
  batchCreate(input: $input) {
    batch { id status offers { id price { amount currency } stockLimit remainingStock soldQuantity } }
    errors { code field message }
  }
}"""
BATCH_PUBLISH = (
    "mutation($id: ID!) { batchPublish(id: $id) { batch { id status } errors { code field message } } }"
)
ORDER_FIELDS = """
  id number status pickupCode customerName placedAt
  total { amount currency } refunded { amount currency }
  batch { id } pickupPoint { id }
  lines {
    id productName quantity status unitPrice { amount } total { amount }
    offer { id soldQuantity remainingStock }
  }
"""
ORDER_PLACE = f"""
mutation($input: OrderPlaceInput!) {{
  orderPlace(input: $input) {{ order {{ {ORDER_FIELDS} }} errors {{ code field message }} }}
}}"""
ORDER_CANCEL = """
mutation($id: ID!) {
  orderCancel(id: $id) { order { id status refunded { amount } } errors { code field message } }
}"""
ORDER_MARK_PAID = """
mutation($id: ID!, $ref: String!) {
  orderMarkPaid(id: $id, paymentReference: $ref) { order { id status } errors { code field message } }
}"""
OFFER_QUERY = "query($id: ID!) { node(id: $id) { ... on Offer { soldQuantity remainingStock stockLimit } } }"


@dataclass
class World:
    tenant: TenantHandle
    supplier_id: uuid.UUID
    product_ids: list[uuid.UUID]
    leader_user_id: uuid.UUID
    leader_id: uuid.UUID
    leader_token: str
    point_id: uuid.UUID
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def point_gid(self) -> str:
        return global_id.encode("PickupPoint", self.point_id)

    def product_gid(self, i: int) -> str:
        return global_id.encode("Product", self.product_ids[i])


def _token(tenant_uuid: uuid.UUID, user_id: uuid.UUID) -> str:
    from service.accounts.credentials import issue_user_token

    return issue_user_token(tenant_id=tenant_uuid, user_id=user_id)


def bulk_customers(owner_db: psycopg.Connection, tenant: TenantHandle, n: int) -> list[tuple[uuid.UUID, str]]:
    """n customer accounts in one statement (no password anyone uses), each with a token."""
    ids = [uuid.uuid4() for _ in range(n)]
    with owner_db.cursor() as cur:
        cur.executemany(
            "INSERT INTO app_user (tenant_id, id, kind, display_name, phone, password_hash) "
            "VALUES (%s, %s, 'CUSTOMER', %s, %s, 'x')",
            [
                (tenant.uuid, i, f"Customer {k}", f"+8613{uuid.uuid4().int % 10**9:09d}")
                for k, i in enumerate(ids)
            ],
        )
    return [(i, _token(tenant.uuid, i)) for i in ids]


def add_pickup_point(
    owner_db: psycopg.Connection, tenant: TenantHandle, leader_id: uuid.UUID, active: bool = True
) -> uuid.UUID:
    point = uuid.uuid4()
    owner_db.execute(
        "INSERT INTO pickup_point (tenant_id, id, leader_id, name, address, latitude, longitude, active) "
        "VALUES (%s, %s, %s, 'Shop', '1 Road', 31.2, 121.4, %s)",
        (tenant.uuid, point, leader_id, active),
    )
    return point


def add_leader(
    owner_db: psycopg.Connection, tenant: TenantHandle, status: str = "APPROVED", rate: str = "0.1000"
) -> tuple[uuid.UUID, uuid.UUID, str]:
    ((user_id, token),) = bulk_customers(owner_db, tenant, 1)
    leader = uuid.uuid4()
    owner_db.execute(
        "INSERT INTO leader (tenant_id, id, user_id, display_name, phone, status, commission_rate) "
        "VALUES (%s, %s, %s, 'Leader', '+8613900000000', %s, %s)",
        (tenant.uuid, leader, user_id, status, rate),
    )
    return user_id, leader, token


def make_world(owner_db: psycopg.Connection, tenant: TenantHandle, products: int = 3) -> World:
    supplier = uuid.uuid4()
    owner_db.execute(
        "INSERT INTO supplier (tenant_id, id, name) VALUES (%s, %s, 'Farm')", (tenant.uuid, supplier)
    )
    product_ids = [uuid.uuid4() for _ in range(products)]
    for k, p in enumerate(product_ids):
        owner_db.execute(
            "INSERT INTO product (tenant_id, id, supplier_id, name, unit, cost_minor, active) "
            "VALUES (%s, %s, %s, %s, 'box', 500, true)",
            (tenant.uuid, p, supplier, f"Product {k}"),
        )
    user_id, leader, token = add_leader(owner_db, tenant)
    point = add_pickup_point(owner_db, tenant, leader)
    return World(
        tenant=tenant,
        supplier_id=supplier,
        product_ids=product_ids,
        leader_user_id=user_id,
        leader_id=leader,
        leader_token=token,
        point_id=point,
    )


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def offer_input(world: World, i: int, price: str = "9.90", **kw: Any) -> dict:
    return {"productId": world.product_gid(i), "price": price, **kw}


def create_batch(
    gql: GraphQLClient,
    world: World,
    offers: list[dict],
    *,
    opens_in: float = -60,
    closes_in: float = 3600,
    title: str = "Weekly batch",
) -> dict:
    now = datetime.now(UTC)
    closes = now + timedelta(seconds=closes_in)
    payload = gql.data(
        BATCH_CREATE,
        {
            "input": {
                "title": title,
                "opensAt": iso(now + timedelta(seconds=opens_in)),
                "closesAt": iso(closes),
                "pickupDate": (closes + timedelta(days=2)).date().isoformat(),
                "offers": offers,
            }
        },
        token=world.tenant.admin_token,
    )["batchCreate"]
    assert payload["errors"] == [], payload
    return payload["batch"]


def run_domain(fn: Callable[[Any], Awaitable[T]]) -> T:
    """Runs `fn(engine)` in this thread's own event loop with its own engine (the API server
    thread has its own), as the app role, like a worker or the scheduler would."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service.db import app_url

    async def main() -> T:
        engine = create_async_engine(app_url(), poolclass=NullPool)
        try:
            return await fn(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def open_batch_now(batch_gid: str, tenant: TenantHandle) -> bool:
    from service.batches.opening import open_batch

    batch_id = global_id.decode_as(batch_gid, "Batch")
    assert batch_id is not None
    return run_domain(lambda engine: open_batch(tenant.uuid, batch_id, engine=engine))


def open_batch_with_offers(gql: GraphQLClient, world: World, offers: list[dict], **kw: Any) -> dict:
    """A batch that is OPEN now (opensAt a minute ago), published and opened by the domain job."""
    batch = create_batch(gql, world, offers, **kw)
    published = gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=world.tenant.admin_token)["batchPublish"]
    assert published["errors"] == [], published
    assert open_batch_now(batch["id"], world.tenant)
    return batch


def place_input(batch: dict, world: World, lines: list[tuple[int, int]], key: str | None = None) -> dict:
    return {
        "input": {
            "batchId": batch["id"],
            "pickupPointId": world.point_gid,
            "lines": [{"offerId": batch["offers"][i]["id"], "quantity": q} for i, q in lines],
            "idempotencyKey": key or uuid.uuid4().hex,
        }
    }


def offer_state(owner_db: psycopg.Connection, offer_gid: str) -> tuple[int, int | None, int]:
    """(sold, stock_limit, sum of ACTIVE line quantities) straight from the database."""
    offer_id = global_id.decode_as(offer_gid, "Offer")
    sold, limit = owner_db.execute(
        f"SELECT {SOLD_SQL}, stock_limit FROM offer o WHERE id = %s", (offer_id,)
    ).fetchone()
    active = owner_db.execute(
        "SELECT coalesce(sum(quantity), 0) FROM order_line WHERE offer_id = %s AND status = 'ACTIVE'",
        (offer_id,),
    ).fetchone()[0]
    return sold, limit, int(active)
