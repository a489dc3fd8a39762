"""Demo catalog: three suppliers with a few products each, and a login for one supplier's staff."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from service.accounts.models import Tenant
from service.catalog import operations

if TYPE_CHECKING:
    from service.demo import DemoLogins

SUPPLIER_LOGIN = ("supplier@demo.example", "demo-supplier-1")

CATALOG = {
    ("崇明绿源农场", "orders@lvyuan.example"): [
        ("有机菠菜", "500g 袋", "3.20", "崇明岛当天采摘"),
        ("本地草鸡蛋", "30 枚/盒", "28.00", None),
        ("崇明金瓜", "约 1kg/个", "5.50", None),
    ],
    ("东海渔港水产", "sales@donghai.example"): [
        ("舟山带鱼段", "500g 袋", "24.00", "冷冻锁鲜"),
        ("基围虾", "400g 盒", "32.00", None),
    ],
    ("阳光果园", None): [
        ("赣南脐橙", "5kg 箱", "35.00", "产地直发"),
        ("奉贤黄桃", "6 个装", "22.00", None),
    ],
}


async def seed_catalog(session: AsyncSession, tenant_id: UUID, logins: DemoLogins) -> None:
    currency = (await session.execute(select(col(Tenant.currency)).where(Tenant.id == tenant_id))).scalar_one()
    first_supplier = None
    for (name, email), products in CATALOG.items():
        supplier = await operations.create_supplier(
            session, tenant_id=tenant_id, name=name, contact_email=email
        )
        first_supplier = first_supplier or supplier
        for product, unit, cost, description in products:
            await operations.create_product(
                session,
                tenant_id=tenant_id,
                currency=currency,
                supplier_id=supplier.id,
                name=product,
                unit=unit,
                cost=Decimal(cost),
                description=description,
            )
    assert first_supplier is not None
    await operations.create_supplier_account(
        session,
        tenant_id=tenant_id,
        supplier_id=first_supplier.id,
        email=SUPPLIER_LOGIN[0],
        password=SUPPLIER_LOGIN[1],
    )
    logins.logins.append(("SUPPLIER", *SUPPLIER_LOGIN))
