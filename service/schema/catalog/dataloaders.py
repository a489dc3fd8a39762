"""Catalog DataLoaders: one instance per request (see access.get_loader), batching every
nested look-up of a list into one statement."""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from uuid import UUID

from strawberry.dataloader import DataLoader

from service.catalog import queries
from service.catalog.models import Product
from service.pagination import Page
from service.schema.access import KeyedLoader, serial_session
from service.schema.context import Context


class SupplierByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.suppliers_by_ids)
    pass_tenant = True


class ProductByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.products_by_ids)
    pass_tenant = True


class ProductsBySupplierLoader(DataLoader[tuple[UUID, int, str | None], Page[Product]]):
    """Key: (supplier id, first, after). Suppliers asking for the same page share one statement."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: list[tuple[UUID, int, str | None]]) -> list[Page[Product]]:
        by_page: dict[tuple[int, str | None], list[UUID]] = defaultdict(list)
        for supplier_id, first, after in keys:
            by_page[(first, after)].append(supplier_id)
        pages: dict[Any, Page[Product]] = {}
        async with serial_session(self.context) as session:
            for (first, after), supplier_ids in by_page.items():
                found = await queries.product_pages_by_supplier(
                    session,
                    tenant_id=self.context.tenant.id,
                    supplier_ids=supplier_ids,
                    first=first,
                    after=after,
                )
                pages.update({(sid, first, after): page for sid, page in found.items()})
        return [pages[k] for k in keys]
