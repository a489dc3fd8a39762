"""Batches and offers: types, queries (visibility by role) and the admins' mutations."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from service import global_id
from service.batches import models, operations, queries
from service.batches.validation import OfferSpec
from service.catalog import models as catalog_models
from service.groupbuys.models import GroupBuyExpiry as GroupBuyExpiryEnum
from service.schema.access import (
    KeyedLoader,
    admins,
    check_page,
    decode,
    get_loader,
    is_admin,
    load_now,
    public,
    serial_session,
    then,
)
from service.schema.catalog.dataloaders import ProductByIdLoader
from service.schema.catalog.types import Product, Supplier
from service.schema.common import Money, Node, UserError, describe_values
from service.schema.context import Context
from service.schema.execution import preset
from service.schema.growth import offer_rates, offer_rates_for_batch
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.pagination import ORDER_BY_DESCRIPTION, Connection, ListOrder, descending

log = logging.getLogger(__name__)
Info = strawberry.Info[Context, None]

BatchStatus = strawberry.enum(models.BatchStatus, name="BatchStatus",
                              description="Where a batch is in its lifecycle.")
describe_values(BatchStatus, {
    "DRAFT": "Being prepared by an admin; invisible to customers.",
    "SCHEDULED": "Published: opens by itself at opensAt.",
    "OPEN": "Taking orders until closesAt.",
    "CLOSED": "The cutoff passed and the close ran: purchase orders and pick lists exist.",
    "COMPLETED": "The pickup is over: every order picked up or cancelled, or the pickup window ended.",
    "CANCELLED": "Cancelled by an admin: every order cancelled, payments refunded.",
})
OfferStatus = strawberry.enum(models.OfferStatus, name="OfferStatus", description="Whether an offer goes ahead.")
describe_values(OfferStatus, {
    "ACTIVE": "The batch still takes orders.",
    "CONFIRMED": "Reached its minimum group quantity: it goes ahead.",
    "BELOW_MINIMUM": "Did not reach its minimum group quantity: its lines were cancelled and refunded.",
})


# -- loaders --------------------------------------------------------------------------------
class BatchByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.batches_by_ids)


class OfferByIdLoader(KeyedLoader):
    fetch = staticmethod(queries.offers_by_ids)


class OffersByBatchLoader(KeyedLoader):
    """A batch's offers with their products and suppliers: one statement, and the objects built
    from its values reused across requests while those values are unchanged (`storefront_offers`)."""

    async def _load(self, keys: Sequence[UUID]) -> list[Any]:
        async with serial_session(self.context) as session:
            found = await queries.storefront_offers(session, batch_ids=list(keys))
        return [storefront_offers(self.context, key, found.get(key) or ()) for key in keys]


# -- the storefront's objects, kept per process ---------------------------------------------
# Keyed by tenant and id, each with every value it was built from: values read in this request
# that differ in anything (name, price, supplier, sold, ...) build new objects, so nothing is
# ever stale, remaining stock is always this request's, and a tenant only ever finds objects
# built from its own rows (read under its RLS). Fields that depend on the caller (a product's
# cost, a supplier's contact) stay resolvers that check the caller on every request.
_CACHE_LIMIT = 5_000  # per dict; an offer with its product and answers is ≈ 10 kB: ≈ 50 MB at most
_products: dict[tuple[UUID, str], tuple[tuple, Product]] = {}
_offers: dict[tuple[UUID, str], tuple[tuple, Offer]] = {}


def _remember(cache: dict, key: Any, value: Any) -> None:
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[key] = value


def _storefront_product(tenant_id: UUID, product_id: str, values: tuple) -> Product:
    """`values`: supplier id, name, unit, description, image URL, cost, active, supplier name and
    contact e-mail (queries.STOREFRONT_COLUMNS 9 to 17)."""
    hit = _products.get((tenant_id, product_id))
    if hit is not None and hit[0] == values:
        return hit[1]
    supplier_id, name, unit, description, image_url, cost_minor, active, supplier_name, contact = values
    supplier = Supplier.of(catalog_models.Supplier(
        tenant_id=tenant_id, id=UUID(supplier_id), name=supplier_name, contact_email=contact, created_at=None))  # type: ignore[arg-type]  # never read
    product = Product.of(
        catalog_models.Product(
            tenant_id=tenant_id, id=UUID(product_id), supplier_id=UUID(supplier_id), name=name, unit=unit,
            description=description, image_url=image_url, cost_minor=cost_minor, active=active, created_at=None,  # type: ignore[arg-type]  # never read
        ),
        supplier=supplier,
    )
    _remember(_products, (tenant_id, product_id), (values, product))
    return product


def storefront_offers(context: Context, batch_id: UUID, rows: Sequence[Sequence[Any]]) -> list[Offer]:
    """The offers of one batch from queries.storefront_offers' values."""
    tenant = context.tenant
    tenant_id, currency = tenant.id, tenant.currency
    offers = []
    for row in rows:
        product = _storefront_product(tenant_id, row[1], tuple(row[9:18]))
        values = (batch_id, *row[:9], currency, *row[18:21])
        hit = _offers.get((tenant_id, row[0]))
        if hit is not None and hit[0] == values and hit[1].preset_product is product:
            offers.append(hit[1])
            continue
        offer_id, product_id, position, price_minor, stock_limit, per_customer, min_group, sold, status = row[:9]
        offer = Offer.of(
            models.Offer(
                tenant_id=tenant_id, id=UUID(offer_id), batch_id=batch_id, product_id=UUID(product_id),
                position=position, price_minor=price_minor, stock_limit=stock_limit, per_customer_limit=per_customer,
                min_group_quantity=min_group, status=status, created_at=None,  # type: ignore[arg-type]  # never read
                group_size=row[18], group_window_minutes=row[19], group_expiry=row[20],
            ),
            sold=sold,
            product=product,
            price=Money.of(price_minor, currency),
        )
        offer.rendered = {}
        _remember(_offers, (tenant_id, offer_id), (values, offer))
        offers.append(offer)
    return offers


def _asks_for(selections: Any, name: str) -> bool:
    for selection in selections:
        if getattr(selection, "name", None) == name and not hasattr(selection, "type_condition"):
            return True
        if hasattr(selection, "type_condition") and _asks_for(selection.selections, name):
            return True
    return False


async def load_batch_for(info: Info, batch_id: UUID) -> None:
    """When the selection asks for the batch's offers, the batch and its offers in one statement
    (the storefront's query), primed into the loaders that `batch` and `offers` then use."""
    context = info.context
    if not _asks_for(info.selected_fields[0].selections, "offers"):
        return
    batches = get_loader(context, BatchByIdLoader)
    if batches.cache_map.get(batch_id) is not None:
        return
    async with serial_session(context) as session:
        found = await queries.batch_with_storefront(session, batch_id=batch_id)
    batches.prime(batch_id, found[0] if found else None)
    if found:
        get_loader(context, OffersByBatchLoader).prime(batch_id, storefront_offers(context, batch_id, found[1]))


async def visible_batch(context: Context, batch_id: UUID) -> models.Batch | None:
    row = await get_loader(context, BatchByIdLoader).load(batch_id)
    if row is None or (row.status not in models.PUBLIC_BATCH_STATUSES and not await is_admin(context)):
        return None
    return row


# -- types ----------------------------------------------------------------------------------
@strawberry.type(name="Batch", description="A group-buy batch (团期): offers open for orders between opensAt and "
                                           "closesAt, delivered to the pickup points for pickupDate.")
class Batch(Node):
    id: strawberry.ID = strawberry.field(description="The batch's global ID.")
    title: str = strawberry.field(description="The title customers see.")
    status: BatchStatus = strawberry.field(description="Where the batch is in its lifecycle.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    opens_at: datetime = strawberry.field(description="When the batch opens for orders (the scheduler opens a "
                                                      "SCHEDULED batch then).")
    closes_at: datetime = strawberry.field(description="The cutoff: orders are accepted until this instant, by the "
                                                       "database clock.")
    pickup_date: date = strawberry.field(description="The day customers collect their goods, in the tenant's time "
                                                     "zone.")
    closed_at: datetime | None = strawberry.field(description="When the close ran; null before.")
    published_at: datetime | None = strawberry.field(description="When an admin published it (DRAFT -> SCHEDULED); "
                                                                 "null while DRAFT.")
    cancelled_at: datetime | None = strawberry.field(description="When an admin cancelled it; null unless CANCELLED.")
    cancel_reason: str | None = strawberry.field(description="Why it was cancelled, as the admin wrote it.")
    row: strawberry.Private[models.Batch]

    @classmethod
    def of(cls, row: models.Batch) -> Batch:
        return cls(
            id=strawberry.ID(global_id.encode("Batch", row.id)),
            title=row.title,
            status=models.BatchStatus(row.status),
            opens_at=row.opens_at,
            closes_at=row.closes_at,
            pickup_date=row.pickup_date,
            closed_at=row.closed_at,
            published_at=row.published_at,
            cancelled_at=row.cancelled_at,
            cancel_reason=row.cancel_reason,
            row=row,
        )

    @strawberry.field(description="The batch's offers, in the order they were added.")
    async def offers(self, info: Info) -> list[Offer]:
        return await get_loader(info.context, OffersByBatchLoader).load(self.row.id)


GroupBuyExpiry = strawberry.enum(GroupBuyExpiryEnum, name="GroupBuyExpiry",
                                 description="What a 拼团 group short of its size becomes when its window ends.")
describe_values(GroupBuyExpiry, {
    "REFUND": "It fails: every member's order is cancelled and what was paid refunded (the default).",
    "SUCCEED_ANYWAY": "It succeeds with the members it has (虚拟成团), marked succeededVirtually in reports.",
})


@strawberry.type(name="Offer", description="A product on sale in a batch, at a price, with optional limits.")
class Offer(Node):
    id: strawberry.ID = strawberry.field(description="The offer's global ID.")
    stock_limit: int | None = strawberry.field(description="How many can be sold in all; null: no limit.")
    remaining_stock: int | None = strawberry.field(description="Null when unlimited; never negative.")
    sold_quantity: int = strawberry.field(description="Placed and not cancelled.")
    per_customer_limit: int | None = strawberry.field(description="How many one customer may buy; null: no limit.")
    min_group_quantity: int = strawberry.field(description="The offer goes ahead only if at least this many are sold "
                                                           "by the cutoff; else its lines are cancelled and "
                                                           "refunded.")
    status: OfferStatus = strawberry.field(description="ACTIVE while the batch takes orders; "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                       "CONFIRMED or BELOW_MINIMUM after the "
                                                       "close.")
    group_size: int | None = strawberry.field(default=None, description="拼团: orders with groupBuyId or "
                                              "startGroupBuy form groups of this many paid members (2 to 50); "
                                              "null: the offer forms no groups.")
    group_window_minutes: int | None = strawberry.field(default=None, description="拼团: how long a group stays "
                                                        "open after its first payment (never past the cutoff).")
    group_expiry: GroupBuyExpiry | None = strawberry.field(default=None, description="拼团: what a group short "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                           "of its size becomes at the end of its window.")
    row: strawberry.Private[models.Offer]
    # Set on the storefront's cached objects: what `product` and `price` would resolve to.
    preset_product: strawberry.Private[Product | None] = None
    preset_price: strawberry.Private[Money | None] = None
    # Answers kept by the executor, per caller (service.schema.execution, ANSWERS KEPT), on
    # objects never changed after they are built.
    rendered: strawberry.Private[dict | None] = None

    @classmethod
    def of(
        cls, row: models.Offer, *, sold: int | None = None, product: Product | None = None, price: Money | None = None
    ) -> Offer:
        if sold is None:
            # Loaded rows carry the slots' sum (models.Offer.sold); one just inserted has sold nothing.
            sold = row.__dict__.get("sold", 0)
        remaining = None if row.stock_limit is None else max(row.stock_limit - sold, 0)
        return cls(
            id=strawberry.ID(global_id.encode("Offer", row.id)),
            stock_limit=row.stock_limit,
            remaining_stock=remaining,
            sold_quantity=sold,
            per_customer_limit=row.per_customer_limit,
            min_group_quantity=row.min_group_quantity,
            status=models.OfferStatus(row.status),
            group_size=row.group_size,
            group_window_minutes=row.group_window_minutes,
            group_expiry=GroupBuyExpiryEnum(row.group_expiry) if row.group_expiry else None,
            row=row,
            preset_product=product,
            preset_price=price,
        )

    @strawberry.field(description="The price of one unit.")
    @preset("preset_price")
    def price(self, info: Info) -> Money:
        if self.preset_price is not None:
            return self.preset_price
        return Money.of(self.row.price_minor, info.context.tenant.currency)

    @strawberry.field(description="The batch it belongs to.")
    async def batch(self, info: Info) -> Batch:
        row = await get_loader(info.context, BatchByIdLoader).load(self.row.batch_id)
        return Batch.of(row)

    @strawberry.field(description="The product on sale.")
    @preset("preset_product")
    def product(self, info: Info) -> Product:
        if self.preset_product is not None:
            return self.preset_product
        return then(load_now(get_loader(info.context, ProductByIdLoader), self.row.product_id), Product.of)


@node_loader("Batch")
async def _load_batch_node(context: Context, id: UUID) -> Batch | None:
    row = await visible_batch(context, id)
    return Batch.of(row) if row else None


@node_loader("Offer")
async def _load_offer_node(context: Context, id: UUID) -> Offer | None:
    row = await get_loader(context, OfferByIdLoader).load(id)
    if row is None or await visible_batch(context, row.batch_id) is None:
        return None
    return Offer.of(row)


# -- queries --------------------------------------------------------------------------------
@strawberry.type
class BatchesQuery:
    @strawberry.field(
        description="Anonymous callers and customers see SCHEDULED, OPEN and CLOSED batches; "
        "admins every batch."
    )
    @public
    async def batches(
        self,
        info: Info,
        status: Annotated[list[BatchStatus] | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="Only batches in these statuses.")] = None,
        first: Annotated[int | None, strawberry.argument(
            description="How many items to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE).",
        )] = 20,
        after: Annotated[str | None, strawberry.argument(
            description="The endCursor of the previous page; leave it out for the first page.",
        )] = None,
        order_by: Annotated[ListOrder | None, strawberry.argument(description=ORDER_BY_DESCRIPTION)] = None,
    ) -> Connection[Batch]:
        context = info.context
        context.tenant  # noqa: B018 - refuses a request that names no tenant
        size = check_page(first, after)
        admin = await is_admin(context)
        async with serial_session(context) as session:
            page = await queries.list_batches(
                session, is_admin=admin, statuses=status, first=size, after=after, descending=descending(order_by)
            )
        return Connection.of(page, Batch.of)

    @strawberry.field(description="One batch by its ID; null when the caller may not see it.")
    @public
    async def batch(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
    ) -> Batch | None:
        info.context.tenant  # noqa: B018 - refuses a request that names no tenant
        batch_id = decode(id, "Batch")
        if batch_id is None:
            return None
        await load_batch_for(info, batch_id)
        row = await visible_batch(info.context, batch_id)
        return Batch.of(row) if row else None


# -- mutations ------------------------------------------------------------------------------
@strawberry.input(description="An offer of a product in a batch.")
class OfferInput:
    product_id: strawberry.ID = strawberry.field(description="The product's global ID.")
    price: Decimal = strawberry.field(description="The unit price as a decimal string, with at most the currency's "
                                                  "number of decimals.")
    stock_limit: int | None = strawberry.field(default=None, description="How many can be sold in all; null: no limit.")
    per_customer_limit: int | None = strawberry.field(
        default=None, description="How many one customer may buy; null: no limit.")
    min_group_quantity: int | None = strawberry.field(default=1, description="The least quantity sold for the offer to "
                                                                             "go ahead (default 1).")
    distribution_level1_rate: Decimal | None = strawberry.field(
        default=None, description="Level-1 distribution rate for this offer (a fraction); null: the tenant's.")
    distribution_level2_rate: Decimal | None = strawberry.field(
        default=None, description="Level-2 distribution rate for this offer; with level 1 at most 0.3.")
    group_size: int | None = strawberry.field(default=None, description="拼团: the group size, 2 to 50; null: no "
                                                                        "groups.")
    group_window_minutes: int | None = strawberry.field(default=None, description="拼团: how long a group stays "
                                                        "open after its first payment, 1 to 10080 (default 1440).")
    group_expiry: GroupBuyExpiry | None = strawberry.field(default=None, description="拼团: what a group short "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                           "of its size becomes at the end of its window "
                                                           "(default REFUND).")

    def spec(self) -> OfferSpec:
        return OfferSpec(
            product_id=decode(self.product_id, "Product"),
            price=self.price,
            stock_limit=self.stock_limit,
            per_customer_limit=self.per_customer_limit,
            min_group_quantity=self.min_group_quantity,
            group_size=self.group_size,
            group_window_minutes=self.group_window_minutes,
            group_expiry=self.group_expiry.value if self.group_expiry else None,
        )


@strawberry.input(description="A new batch: its window, its pickup day and its first offers.")
class BatchCreateInput:
    title: str = strawberry.field(description="The title customers see (1 to 200 characters).")
    opens_at: datetime = strawberry.field(description="When it opens for orders (ISO 8601 with offset).")
    closes_at: datetime = strawberry.field(description="The cutoff, after opensAt (ISO 8601 with offset).")
    pickup_date: date = strawberry.field(
        description="The pickup day, in the tenant's time zone; not before the cutoff's day.")
    offers: list[OfferInput] | None = strawberry.field(
        default_factory=list, description="The offers; more can be added while the batch is DRAFT or SCHEDULED.")


@strawberry.input(description="A batch's changes: only the fields given change; the new window (opensAt, "
                              "closesAt, pickupDate) is checked as a whole, as at creation.")
class BatchUpdateInput:
    title: str | None = strawberry.field(default=None, description="The new title.")
    opens_at: datetime | None = strawberry.field(default=None, description="When the batch opens for orders.")
    closes_at: datetime | None = strawberry.field(default=None, description="The cutoff: orders are taken until "
                                                                            "then; after opensAt.")
    pickup_date: date | None = strawberry.field(default=None, description="The local date (tenant's time zone) "
                                                                          "the goods can be collected; not before "
                                                                          "the cutoff.")


@strawberry.input(description="An offer's changes: only the fields given change; left out or null keeps "
                              "the current value.")
class OfferUpdateInput:
    price: Decimal | None = strawberry.field(default=None, description="The new unit price as a decimal string.")
    stock_limit: int | None = strawberry.field(default=None, description="How many can be sold in all; not below "
                                                                          "what is already sold.")
    per_customer_limit: int | None = strawberry.field(default=None, description="How many one customer may "
                                                                                "buy.")
    min_group_quantity: int | None = strawberry.field(default=None, description="The least quantity sold for the "
                                                                                "offer to go ahead.")
    distribution_level1_rate: Decimal | None = strawberry.field(
        default=None, description="Level-1 distribution rate for this offer (a fraction); null keeps it.")
    distribution_level2_rate: Decimal | None = strawberry.field(
        default=None, description="Level-2 distribution rate for this offer; with level 1 at most 0.3.")
    group_size: int | None = strawberry.field(default=None, description="拼团: the group size, 2 to 50.")
    group_window_minutes: int | None = strawberry.field(default=None, description="拼团: how long a group stays "
                                                                                  "open after its first payment.")
    group_expiry: GroupBuyExpiry | None = strawberry.field(default=None, description="拼团: what a group short "  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
                                                           "of its size becomes at the end of its window.")


@strawberry.type(description="The result of a batch mutation.")
class BatchPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    batch: Batch | None = strawberry.field(default=None, description="The batch as it is now; null when refused.")


@strawberry.type(description="The result of batchOfferAdd.")
class OfferPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    offer: Offer | None = strawberry.field(default=None, description="The new offer; null when refused.")


@strawberry.type
class BatchesMutation:
    @strawberry.mutation(description="Admins: a DRAFT batch with its offers.")
    @admins
    async def batch_create(
        self,
        info: Info,
        input: Annotated[BatchCreateInput, strawberry.argument(description="The batch and its first offers.")],
    ) -> BatchPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            batch = await operations.create_batch(
                session,
                tenant=context.tenant,
                title=input.title,
                opens_at=input.opens_at,
                closes_at=input.closes_at,
                pickup_date=input.pickup_date,
                offers=[o.spec() for o in input.offers or []],
                created_by=context.principal.user_id,
            )
            await offer_rates_for_batch(session, context.tenant, batch.id, input.offers or [])  # social growth
            return {"batch": Batch.of(batch)}

        return await run_mutation(context, BatchPayload, action)

    @strawberry.mutation(description="Admins: one more offer, while the batch is DRAFT or SCHEDULED.")
    @admins
    async def batch_offer_add(
        self,
        info: Info,
        batch_id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        input: Annotated[OfferInput, strawberry.argument(description="The offer.")],
    ) -> OfferPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            offer = await operations.add_offer(
                session, tenant=context.tenant, batch_id=decode(batch_id, "Batch"), spec=input.spec()
            )
            await offer_rates(session, context.tenant, offer.id, input, ["input"])  # social growth
            return {"offer": Offer.of(offer)}

        return await run_mutation(context, OfferPayload, action)

    @strawberry.mutation(description="Admins: DRAFT -> SCHEDULED; the batch opens by itself at opensAt.")
    @admins
    async def batch_publish(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The DRAFT batch's global ID.")],
    ) -> BatchPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            batch = await operations.publish_batch(session, tenant_id=context.tenant.id, batch_id=decode(id, "Batch"))
            return {"batch": Batch.of(batch)}

        return await run_mutation(context, BatchPayload, action)

    @strawberry.mutation(
        description="Admins: cancels every order, records refunds for what was paid, "
        "notifies customers and leaders."
    )
    @admins
    async def batch_cancel(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        reason: Annotated[str, strawberry.argument(description="Why, for the customers and leaders notified.")],
    ) -> BatchPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            done = await operations.cancel_batch(
                session, tenant=context.tenant, batch_id=decode(id, "Batch"), reason=reason
            )
            return {"batch": Batch.of(done.batch)}

        return await run_mutation(context, BatchPayload, action)

    @strawberry.mutation(description="Admins: edits a DRAFT or SCHEDULED batch; it opens and closes at the new times.")
    @admins
    async def batch_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The batch's global ID.")],
        input: Annotated[BatchUpdateInput, strawberry.argument(description="The changes.")],
    ) -> BatchPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            batch = await operations.update_batch(
                session, tenant=context.tenant, batch_id=decode(id, "Batch"), title=input.title,
                opens_at=input.opens_at, closes_at=input.closes_at, pickup_date=input.pickup_date,
            )
            return {"batch": Batch.of(batch)}

        return await run_mutation(context, BatchPayload, action)

    @strawberry.mutation(description="Admins: edits an offer while its batch is DRAFT or SCHEDULED.")
    @admins
    async def offer_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The offer's global ID.")],
        input: Annotated[OfferUpdateInput, strawberry.argument(description="The changes.")],
    ) -> OfferPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict:
            offer = await operations.update_offer(
                session, tenant=context.tenant, offer_id=decode(id, "Offer"),
                changes=operations.OfferChanges(
                    price=input.price, stock_limit=input.stock_limit,
                    per_customer_limit=input.per_customer_limit, min_group_quantity=input.min_group_quantity,
                    group_size=input.group_size, group_window_minutes=input.group_window_minutes,
                    group_expiry=input.group_expiry.value if input.group_expiry else None,
                ),
            )
            await offer_rates(session, context.tenant, offer.id, input, ["input"])  # social growth
            return {"offer": Offer.of(offer)}

        return await run_mutation(context, OfferPayload, action)
