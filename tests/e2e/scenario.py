"""A community group-buy built through the public API, as a brand would: a supplier with a staff
login and products, a customer who applies and is approved as leader with a pickup point, a batch
published by the admin, customers' orders. Only opening the batch at opensAt is done by calling the
scheduler's own job (no scheduler runs in the tests)."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import CustomerHandle, GraphQLClient, TenantHandle

E = "errors { code field message }"
SUPPLIER_CREATE = f"mutation($i: SupplierInput!) {{ supplierCreate(input: $i) {{ supplier {{ id }} {E} }} }}"
SUPPLIER_ACCOUNT = (
    f"mutation($i: SupplierAccountInput!) {{ supplierAccountCreate(input: $i) {{ supplier {{ id }} {E} }} }}"
)
PRODUCT_CREATE = f"mutation($i: ProductInput!) {{ productCreate(input: $i) {{ product {{ id }} {E} }} }}"
LEADER_APPLY = f"mutation($i: LeaderApplyInput!) {{ leaderApply(input: $i) {{ leader {{ id }} {E} }} }}"
LEADER_APPROVE = (
    "mutation($id: ID!, $r: Decimal) { leaderApprove(id: $id, commissionRate: $r) "
    f"{{ leader {{ id status }} {E} }} }}"
)
POINT_CREATE = (
    f"mutation($i: PickupPointInput!) {{ pickupPointCreate(input: $i) {{ pickupPoint {{ id }} {E} }} }}"
)
GROUP_CREATE = (
    "mutation($i: CommunityGroupInput!) { communityGroupCreate(input: $i) "
    f"{{ communityGroup {{ id inviteCode }} {E} }} }}"
)
BATCH_CREATE = (
    f"mutation($i: BatchCreateInput!) {{ batchCreate(input: $i) {{ batch {{ id offers {{ id }} }} {E} }} }}"
)
BATCH_PUBLISH = f"mutation($id: ID!) {{ batchPublish(id: $id) {{ batch {{ id status }} {E} }} }}"
BATCH_CLOSE = f"mutation($id: ID!) {{ batchClose(id: $id) {{ batch {{ id status }} {E} }} }}"
BATCH_STATUS = "query($id: ID!) { batch(id: $id) { status } }"
ORDER_PLACE = f"""mutation($i: OrderPlaceInput!) {{
  orderPlace(input: $i) {{ order {{ id number status pickupCode customerName }} {E} }} }}"""
ORDER_STATUS = "query($id: ID!) { order(id: $id) { status } }"


def ok(payload: dict, name: str) -> Any:
    assert payload["errors"] == [], payload
    return payload[name]


@dataclass
class Shop:
    tenant: TenantHandle
    supplier_id: str
    supplier_login: str
    supplier_password: str
    product_ids: list[str]
    leader_phone: str
    leader_password: str
    leader_token: str
    point_id: str
    point_name: str
    batch_id: str = ""
    offer_ids: list[str] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)


def build_shop(gql: GraphQLClient, tenant: TenantHandle, make_customer: Any) -> Shop:
    admin = tenant.admin_token
    supplier = ok(
        gql.data(
            SUPPLIER_CREATE, {"i": {"name": "丹东绿源果业", "contactEmail": "farm@example.com"}}, token=admin
        )["supplierCreate"],
        "supplier",
    )
    login, password = f"staff-{uuid.uuid4().hex[:6]}@farm.example", "supplier-pass-1"
    ok(
        gql.data(
            SUPPLIER_ACCOUNT,
            {"i": {"supplierId": supplier["id"], "email": login, "password": password}},
            token=admin,
        )["supplierAccountCreate"],
        "supplier",
    )
    products = [
        ok(
            gql.data(
                PRODUCT_CREATE,
                {"i": {"supplierId": supplier["id"], "name": name, "unit": unit, "cost": cost}},
                token=admin,
            )["productCreate"],
            "product",
        )["id"]
        for name, unit, cost in [("丹东草莓", "500g 盒", "21.00"), ("土鸡蛋", "30 枚", "24.00")]
    ]

    leader: CustomerHandle = make_customer(tenant, "陈姐")
    applied = ok(
        gql.data(LEADER_APPLY, {"i": {"displayName": "陈姐", "phone": leader.phone}}, token=leader.token)[
            "leaderApply"
        ],
        "leader",
    )
    ok(gql.data(LEADER_APPROVE, {"id": applied["id"], "r": "0.10"}, token=admin)["leaderApprove"], "leader")
    point = ok(
        gql.data(
            POINT_CREATE,
            {
                "i": {
                    "name": "幸福里 3 号门便利店",
                    "address": "幸福路 88 号",
                    "latitude": 31.2,
                    "longitude": 121.44,
                }
            },
            token=leader.token,
        )["pickupPointCreate"],
        "pickupPoint",
    )
    return Shop(
        tenant=tenant,
        supplier_id=supplier["id"],
        supplier_login=login,
        supplier_password=password,
        product_ids=products,
        leader_phone=leader.phone,
        leader_password=leader.password,
        leader_token=leader.token,
        point_id=point["id"],
        point_name="幸福里 3 号门便利店",
    )


def open_batch(
    gql: GraphQLClient, shop: Shop, *, title: str = "周五鲜果团", closes_in: timedelta = timedelta(hours=5)
) -> None:
    now = datetime.now(UTC)
    closes = now + closes_in
    batch = ok(
        gql.data(
            BATCH_CREATE,
            {
                "i": {
                    "title": title,
                    "opensAt": (now - timedelta(minutes=1)).isoformat(),
                    "closesAt": closes.isoformat(),
                    "pickupDate": (closes + timedelta(days=1)).date().isoformat(),
                    "offers": [
                        {"productId": shop.product_ids[0], "price": "29.90", "stockLimit": 50},
                        {"productId": shop.product_ids[1], "price": "32.50"},
                    ],
                }
            },
            token=shop.tenant.admin_token,
        )["batchCreate"],
        "batch",
    )
    ok(gql.data(BATCH_PUBLISH, {"id": batch["id"]}, token=shop.tenant.admin_token)["batchPublish"], "batch")
    _run_opening_job(shop.tenant, batch["id"])
    shop.batch_id, shop.offer_ids = batch["id"], [o["id"] for o in batch["offers"]]


def _run_opening_job(tenant: TenantHandle, batch_gid: str) -> None:
    """What the scheduler does at opensAt, in this thread with its own engine."""
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from service import global_id
    from service.batches.opening import open_batch as open_due
    from service.db import app_url

    async def run() -> bool:
        engine = create_async_engine(app_url(), poolclass=NullPool)
        try:
            return await open_due(tenant.uuid, global_id.decode(batch_gid)[1], engine=engine)
        finally:
            await engine.dispose()

    # Another thread: Playwright's sync API keeps an event loop running in this one.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, run()).result(), "the batch did not open"


def place_order(
    gql: GraphQLClient, shop: Shop, customer: CustomerHandle, lines: list[tuple[int, int]]
) -> dict:
    order = ok(
        gql.data(
            ORDER_PLACE,
            {
                "i": {
                    "batchId": shop.batch_id,
                    "pickupPointId": shop.point_id,
                    "idempotencyKey": uuid.uuid4().hex,
                    "lines": [{"offerId": shop.offer_ids[i], "quantity": q} for i, q in lines],
                }
            },
            token=customer.token,
        )["orderPlace"],
        "order",
    )
    shop.orders.append(order)
    return order


def close_batch(gql: GraphQLClient, shop: Shop, timeout: float = 30) -> None:
    """batchClose, then wait until the close has produced its results (orders CONFIRMED)."""
    ok(gql.data(BATCH_CLOSE, {"id": shop.batch_id}, token=shop.tenant.admin_token)["batchClose"], "batch")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        statuses = {
            gql.data(ORDER_STATUS, {"id": o["id"]}, token=shop.tenant.admin_token)["order"]["status"]
            for o in shop.orders
        }
        if statuses == {"CONFIRMED"}:
            return
        time.sleep(0.3)
    raise AssertionError(f"the close did not confirm the orders: {statuses}")
