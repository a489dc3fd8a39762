"""The catalog over GraphQL: suppliers, their staff accounts and products."""

from service.schema.catalog.mutations import CatalogMutation
from service.schema.catalog.queries import CatalogQuery
from service.schema.catalog.types import Product, Supplier, viewer_supplier

__all__ = ["CatalogMutation", "CatalogQuery", "Product", "Supplier", "viewer_supplier"]
