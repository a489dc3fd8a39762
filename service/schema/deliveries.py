"""What arrived of a purchase order at each pickup point: its discrepancy report."""

from __future__ import annotations

from datetime import datetime

import strawberry

from service.aftersales.models import DeliveryLine
from service.schema.access import get_loader
from service.schema.catalog.dataloaders import ProductByIdLoader
from service.schema.catalog.types import Product
from service.schema.context import Context
from service.schema.leaders.dataloaders import PickupPointByIdLoader
from service.schema.leaders.types import PickupPoint

Info = strawberry.Info[Context, None]


@strawberry.type(name="DeliveryDiscrepancy", description="One product to one pickup point that was shipped short, "
                                                         "arrived short or arrived damaged.")
class DeliveryDiscrepancy:
    ordered: int = strawberry.field(description="Units ordered for this point.")
    shipped: int = strawberry.field(description="Units shipped to it.")
    received: int | None = strawberry.field(description="Units the leader confirmed as arrived; null before.")
    damaged: int = strawberry.field(description="Of those, units damaged.")
    note: str | None = strawberry.field(description="The leader's note.")
    photo_urls: list[str] = strawberry.field(description="The leader's photos (https links).")
    received_at: datetime | None = strawberry.field(description="When the leader confirmed it; null before.")
    row: strawberry.Private[DeliveryLine]

    @classmethod
    def of(cls, row: DeliveryLine) -> DeliveryDiscrepancy:
        return cls(ordered=row.ordered, shipped=row.shipped, received=row.received, damaged=row.damaged,
                   note=row.note, photo_urls=list(row.photo_urls), received_at=row.received_at, row=row)

    @strawberry.field(description="The product.")
    async def product(self, info: Info) -> Product:
        return Product.of(await get_loader(info.context, ProductByIdLoader).load(self.row.product_id))

    @strawberry.field(description="The pickup point.")
    async def pickup_point(self, info: Info) -> PickupPoint:
        return PickupPoint.of(await get_loader(info.context, PickupPointByIdLoader).load(self.row.pickup_point_id))
