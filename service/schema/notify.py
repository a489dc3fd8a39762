"""Notifications over GraphQL: the caller's inbox, webhook subscriptions and their deliveries, e-mails."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession
from strawberry.dataloader import DataLoader

from service import global_id
from service.notify import inbox, webhooks
from service.notify.events import WebhookEvent as WebhookEventEnum
from service.notify.models import DeliveryChannel as DeliveryChannelEnum
from service.notify.models import DeliveryStatus as DeliveryStatusEnum
from service.notify.models import Notification as NotificationRow
from service.notify.models import WebhookSubscription as SubscriptionRow
from service.notify.templates import rendered
from service.schema.access import admins, check_page, decode, get_loader, is_admin, serial_session, signed_in
from service.schema.common import Node, UserError, describe_values
from service.schema.context import Context
from service.schema.mutation import run_mutation
from service.schema.node import node_loader
from service.schema.pagination import Connection

Info = strawberry.Info[Context, None]

WebhookEvent = strawberry.enum(WebhookEventEnum, name="WebhookEvent",
                               description="The events a webhook subscription can receive (payloads: /docs/webhooks/).")
describe_values(WebhookEvent, {
    "ORDER_PLACED": "An order was placed.",
    "ORDER_PAID": "An order was marked paid.",
    "ORDER_CANCELLED": "An order was cancelled.",
    "ORDER_READY_FOR_PICKUP": "An order's goods arrived at its pickup point.",
    "ORDER_PICKED_UP": "An order was collected.",
    "BATCH_OPENED": "A batch opened for orders.",
    "BATCH_CLOSED": "A batch closed.",
    "BATCH_CANCELLED": "A batch was cancelled.",
    "PURCHASE_ORDER_CREATED": "The close made a purchase order.",
    "PICK_LIST_READY": "The close made a pick list.",
    "PICKUP_REMINDER": "A pickup point's leader reminded a customer that orders wait for them (pickupRemind).",
    "REFUND_CREATED": "A refund was recorded.",
    "DELIVERY_DISCREPANCY": "Goods of a purchase order arrived short or damaged at a pickup point (per product: "
                            "shipped, received, missing, damaged, refunded).",
    "AFTER_SALES_REQUESTED": "A customer asked for an after-sales refund (售后).",
    "AFTER_SALES_APPROVED": "An after-sales request was approved and refunded.",
    "AFTER_SALES_REJECTED": "An after-sales request was rejected.",
    "AFTER_SALES_CANCELLED": "The customer cancelled an after-sales request.",
    "GROUP_OPENED": "A 拼团 group opened: its first order was paid.",
    "GROUP_SUCCEEDED": "A 拼团 group succeeded: its size-th member paid, or its window ended and the offer "
                       "says SUCCEED_ANYWAY.",
    "GROUP_FAILED": "A 拼团 group failed: its window ended short of its size; every member's order is "
                    "cancelled and refunded.",
    "COMMISSION_AVAILABLE": "A leader's frozen commissions became available (the freeze ended).",
    "COMMISSION_CLAWED_BACK": "A refund took back commission that was already available.",
    "WITHDRAWAL_REQUESTED": "A leader requested a withdrawal.",
    "WITHDRAWAL_APPROVED": "An admin approved a withdrawal.",
    "WITHDRAWAL_REJECTED": "An admin rejected a withdrawal; its amount is available again.",
    "WITHDRAWAL_PAID": "A withdrawal was paid out.",
    "WITHDRAWAL_FAILED": "Paying a withdrawal failed; its amount is available again.",
    "COUPON_COMPENSATION_GRANTED": "A customer got a compensation coupon on top of a refund (shortage, damaged "
                                   "goods or after-sales; tenant compensationMode COUPON_AND_REFUND).",
    "COUPON_INSTEAD_OF_REFUND": "A customer got a compensation coupon instead of a refund (compensationMode "
                                "COUPON_INSTEAD_OF_REFUND): no REFUND_CREATED for those units.",
    "SHARER_WITHDRAWAL_REQUESTED": "A sharer (not a leader) requested a withdrawal (sharerWithdrawalRequest).",
    "SHARER_WITHDRAWAL_APPROVED": "An admin approved a sharer's withdrawal.",
    "SHARER_WITHDRAWAL_REJECTED": "An admin rejected a sharer's withdrawal; its amount is available again.",
    "SHARER_WITHDRAWAL_PAID": "A sharer's withdrawal was paid out.",
    "SHARER_WITHDRAWAL_FAILED": "Paying a sharer's withdrawal failed; its amount is available again.",
})
DeliveryStatus = strawberry.enum(DeliveryStatusEnum, name="WebhookDeliveryStatus",
                                 description="Where a delivery is.")
describe_values(DeliveryStatus, {
    "PENDING": "Waiting for its first attempt or a retry.",
    "SENDING": "Being sent now.",
    "DELIVERED": "The endpoint answered 2xx.",
    "FAILED": "Given up: retries exhausted or the subscription stopped.",
})
DeliveryChannel = strawberry.enum(DeliveryChannelEnum, name="DeliveryChannel")


@strawberry.type(name="Notification", description="An in-app notification of an event for the caller.")
class Notification(Node):
    id: strawberry.ID = strawberry.field(description="The notification's global ID.")
    event: WebhookEvent = strawberry.field(description="The event it reports.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    title: str = strawberry.field(description="A short title, in the request's language (Accept-Language).")
    body: str = strawberry.field(description="The text, in the request's language, naming the batch and the point.")
    created_at: datetime = strawberry.field(description="When it was made.")
    read_at: datetime | None = strawberry.field(description="When the caller marked it read; null while unread.")

    @classmethod
    def of(cls, row: NotificationRow) -> Notification:
        # Rows from before templates (params NULL) keep their stored texts.
        texts = rendered(row.event, row.params) if row.params is not None else None
        title, body = texts or (row.title, row.body)
        return cls(
            id=strawberry.ID(global_id.encode("Notification", row.id)),
            event=WebhookEventEnum(row.event),
            title=title,
            body=body,
            created_at=row.created_at,
            read_at=row.read_at,
        )


@strawberry.type(name="WebhookDelivery", description="One event sent to one subscription, with its retries.")
class WebhookDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery's ID.")
    event: WebhookEvent = strawberry.field(description="The event delivered.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    webhook_id: str = strawberry.field(description="The `webhook-id` header: the same on every attempt.")
    status: DeliveryStatus = strawberry.field(description="Sent, waiting for a retry, or given up.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    attempts: int = strawberry.field(description="How many times sending was tried.")
    last_status_code: int | None = strawberry.field(description="The HTTP status of the last attempt; null when "
                                                                "there was no answer.")
    last_error: str | None = strawberry.field(description="What went wrong on the last attempt.")
    last_attempt_at: datetime | None = strawberry.field(description="When the last attempt ran.")
    next_attempt_at: datetime | None = strawberry.field(description="Set while the delivery is pending.")
    delivered_at: datetime | None = strawberry.field(description="When a 2xx answer came; null before.")
    created_at: datetime = strawberry.field(description="When the delivery was queued.")

    @classmethod
    def of(cls, view: webhooks.DeliveryView) -> WebhookDelivery:
        d = view.delivery
        return cls(
            id=strawberry.ID(global_id.encode("WebhookDelivery", d.id)),
            webhook_id=view.webhook_id,
            last_status_code=d.last_status_code,
            **_attempts(view),
        )


def _attempts(view: webhooks.DeliveryView) -> dict:
    """What webhook and e-mail deliveries share: the event, the status and the attempts."""
    d = view.delivery
    pending = d.status in (DeliveryStatusEnum.PENDING, DeliveryStatusEnum.SENDING)
    return {
        "event": WebhookEventEnum(view.event),
        "status": DeliveryStatusEnum(d.status),
        "attempts": d.attempts,
        "last_error": d.last_error,
        "last_attempt_at": d.last_attempt_at,
        "next_attempt_at": d.next_attempt_at if pending else None,
        "delivered_at": d.delivered_at,
        "created_at": d.created_at,
    }


@strawberry.type(name="EmailDelivery", description="One event's e-mail to one address, with its retries.")
class EmailDelivery:
    id: strawberry.ID = strawberry.field(description="The delivery's ID.")
    event: WebhookEvent = strawberry.field(description="The event the e-mail reports.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    to: str = strawberry.field(description="The recipient's address (a supplier's or a leader's).")
    status: DeliveryStatus = strawberry.field(description="Sent, waiting for a retry, or given up.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    attempts: int = strawberry.field(description="How many times sending was tried.")
    last_error: str | None = strawberry.field(description="The SMTP server's answer to the last failed attempt.")
    last_attempt_at: datetime | None = strawberry.field(description="When the last attempt ran; null before the first.")
    next_attempt_at: datetime | None = strawberry.field(description="Set while the delivery is pending.")
    delivered_at: datetime | None = strawberry.field(description="When the SMTP server accepted the message.")
    created_at: datetime = strawberry.field(description="When the e-mail was queued.")

    @classmethod
    def of(cls, view: webhooks.DeliveryView) -> EmailDelivery:
        d = view.delivery
        return cls(id=strawberry.ID(global_id.encode("EmailDelivery", d.id)), to=d.target, **_attempts(view))


@strawberry.type(name="WebhookSubscription", description="An endpoint that receives events, signed with the Standard "
                                                         "Webhooks headers.")
class WebhookSubscription(Node):
    id: strawberry.ID = strawberry.field(description="The subscription's global ID.")
    url: str = strawberry.field(description="Where events are POSTed.")
    events: list[WebhookEvent] = strawberry.field(description="The events it receives.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    active: bool = strawberry.field(description="Whether deliveries are sent.")
    created_at: datetime = strawberry.field(description="When it was created.")
    row: strawberry.Private[SubscriptionRow]

    @strawberry.field(description="Until when the previous secret signs beside the current one (after a "
                                  "rotation with an overlap); null when only the current one signs.")
    def previous_secret_until(self) -> datetime | None:
        until = self.row.previous_secret_until
        return until if until is not None and until > datetime.now(UTC) else None

    @classmethod
    def of(cls, row: SubscriptionRow) -> WebhookSubscription:
        return cls(
            id=strawberry.ID(global_id.encode("WebhookSubscription", row.id)),
            url=row.url,
            events=[WebhookEventEnum(e) for e in row.events],
            active=row.active,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="The newest deliveries to this endpoint: status, attempts, last error.")
    async def deliveries(
        self,
        info: Info,
        status: Annotated[list[DeliveryStatus] | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="Only deliveries in these statuses.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many, newest first.")] = 20,
    ) -> list[WebhookDelivery]:
        size = check_page(first, None)
        statuses = tuple(sorted(DeliveryStatusEnum(s).value for s in status)) if status else ()
        loader = get_loader(info.context, DeliveriesBySubscriptionLoader)
        return [WebhookDelivery.of(v) for v in await loader.load((self.row.id, statuses, size))]


DeliveriesKey = tuple[UUID, tuple[str, ...], int]


class DeliveriesBySubscriptionLoader(DataLoader[DeliveriesKey, list[webhooks.DeliveryView]]):
    """Key: (subscription id, statuses, first): every subscription of a list in one statement."""

    def __init__(self, context: Context) -> None:
        super().__init__(load_fn=self._load)
        self.context = context

    async def _load(self, keys: list[DeliveriesKey]) -> list[list[webhooks.DeliveryView]]:
        groups: dict[tuple[tuple[str, ...], int], list[UUID]] = defaultdict(list)
        for subscription_id, statuses, first in keys:
            groups[(statuses, first)].append(subscription_id)
        found: dict[DeliveriesKey, list[webhooks.DeliveryView]] = {}
        async with serial_session(self.context) as session:
            for (statuses, first), ids in groups.items():
                views = await webhooks.subscription_deliveries(
                    session, tenant_id=self.context.tenant.id, subscription_ids=ids,
                    statuses=[DeliveryStatusEnum(s) for s in statuses] or None, first=first,
                )
                for subscription_id, rows in views.items():
                    found[(subscription_id, statuses, first)] = rows
        return [found.get(key, []) for key in keys]


@strawberry.input(description="A new webhook subscription.")
class WebhookSubscriptionInput:
    url: str = strawberry.field(description="An https URL at a public address.")
    events: list[WebhookEvent] = strawberry.field(description="The events to receive, at least one.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy


@strawberry.input(description="What to change; left out: unchanged.")
class WebhookSubscriptionUpdateInput:
    url: str | None = strawberry.field(default=None, description="A new https URL.")
    events: list[WebhookEvent] | None = strawberry.field(default=None, description="The new list of events.")  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
    active: bool | None = strawberry.field(default=None, description="Pause (false) or resume (true) deliveries.")


@strawberry.type(description="The result of retrying a webhook delivery.")
class WebhookDeliveryPayload:
    errors: list[UserError] = strawberry.field(description="Why the retry was refused, each with a code and the "
                                                           "argument it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    webhook_delivery: WebhookDelivery | None = strawberry.field(
        default=None, description="The delivery, PENDING again; null when refused.")


@strawberry.type(description="The result of a webhook subscription mutation.")
class WebhookSubscriptionPayload:
    errors: list[UserError] = strawberry.field(description="Why the mutation was refused, each with a code and the "
                                                           "input field it is about; empty on success. When it is "
                                                           "not empty, nothing was changed.")
    webhook_subscription: WebhookSubscription | None = strawberry.field(
        default=None, description="The subscription; null when refused.")
    secret: str | None = strawberry.field(
        default=None, description="`whsec_` + base64: shown once, never stored; verify signatures with it."
    )


@node_loader("Notification")
async def _load_notification(context: Context, id: UUID) -> Notification | None:
    user_id = context.principal.user_id
    if user_id is None:
        return None
    async with serial_session(context) as session:
        row = await inbox.get_own(session, tenant_id=context.tenant.id, user_id=user_id, id=id)
    return Notification.of(row) if row else None


@node_loader("WebhookSubscription")
async def _load_subscription(context: Context, id: UUID) -> WebhookSubscription | None:
    if not await is_admin(context):
        return None
    async with serial_session(context) as session:
        row = await webhooks.get_subscription(session, tenant_id=context.tenant.id, id=id)
    return WebhookSubscription.of(row) if row else None


@strawberry.type
class NotifyQuery:
    @strawberry.field(description="The caller's own notifications, newest first.")
    @signed_in
    async def notifications(
        self,
        info: Info,
        unread_only: Annotated[bool | None, strawberry.argument(
            description="Only notifications not yet marked read.",
        )] = False,
        first: Annotated[int | None, strawberry.argument(
            description="How many items to return: 1 to 100 (GROUPBUY_MAX_PAGE_SIZE).",
        )] = 20,
        after: Annotated[str | None, strawberry.argument(
            description="The endCursor of the previous page; leave it out for the first page.",
        )] = None,
    ) -> Connection[Notification]:
        context = info.context
        size = check_page(first, after)
        user_id = await context.require_user()
        async with serial_session(context) as session:
            page = await inbox.notification_page(
                session,
                tenant_id=context.tenant.id,
                user_id=user_id,
                unread_only=bool(unread_only),
                first=size,
                after=after,
            )
        return Connection.of(page, Notification.of)

    @strawberry.field(description="Admins.")
    @admins
    async def webhook_subscriptions(self, info: Info) -> list[WebhookSubscription]:
        context = info.context
        async with serial_session(context) as session:
            rows = await webhooks.list_subscriptions(session, tenant_id=context.tenant.id)
        return [WebhookSubscription.of(r) for r in rows]


    @strawberry.field(
        description="Admins: the newest e-mails sent for events (to suppliers and leaders with an "
        "address), with their status, attempts and the last error; `to` narrows to one address."
    )
    @admins
    async def email_deliveries(
        self,
        info: Info,
        status: Annotated[list[DeliveryStatus] | None, strawberry.argument(  # type: ignore[valid-type]  # a strawberry.enum(...) value: a type to strawberry, not to mypy
            description="Only deliveries in these statuses.")] = None,
        to: Annotated[str | None, strawberry.argument(description="Only e-mails to this address.")] = None,
        first: Annotated[int | None, strawberry.argument(description="How many, newest first (at most 100).")] = 20,
    ) -> list[EmailDelivery]:
        context = info.context
        size = check_page(first, None)
        async with serial_session(context) as session:
            views = await webhooks.email_deliveries(
                session, tenant_id=context.tenant.id,
                statuses=[DeliveryStatusEnum(x) for x in status] if status else None, to=to, first=size,
            )
        return [EmailDelivery.of(v) for v in views]


@strawberry.type
class NotifyMutation:
    @strawberry.mutation(
        description="Admins: an https endpoint (http to loopback in dev/test) for events; "
        "the signing secret is returned once."
    )
    @admins
    async def webhook_subscription_create(
        self, info: Info, input: Annotated[WebhookSubscriptionInput, strawberry.argument(
            description="The endpoint and its events.",
        )]
    ) -> WebhookSubscriptionPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            created = await webhooks.create_subscription(
                session,
                tenant_id=context.tenant.id,
                url=input.url,
                events=[WebhookEventEnum(e).value for e in input.events],
                created_by=context.principal.user_id,
            )
            return {
                "webhook_subscription": WebhookSubscription.of(created.subscription),
                "secret": created.secret,
            }

        return await run_mutation(context, WebhookSubscriptionPayload, action)

    @strawberry.mutation(description="Admins: change a subscription's URL, events or active flag. Deactivating "
                                     "stops every delivery not yet sent.")
    @admins
    async def webhook_subscription_update(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The subscription's global ID.")],
        input: Annotated[WebhookSubscriptionUpdateInput, strawberry.argument(description="What to change.")],
    ) -> WebhookSubscriptionPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            row = await webhooks.update_subscription(
                session, tenant_id=context.tenant.id, id=decode(id, "WebhookSubscription"), url=input.url,
                events=[WebhookEventEnum(e).value for e in input.events] if input.events is not None else None,
                active=input.active,
            )
            return {"webhook_subscription": WebhookSubscription.of(row)}

        return await run_mutation(context, WebhookSubscriptionPayload, action)

    @strawberry.mutation(description="Admins: a new signing secret, shown once. The old one keeps signing "
                                     "beside it for the overlap (both signatures in `webhook-signature`), "
                                     "then stops.")
    @admins
    async def webhook_subscription_rotate_secret(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The subscription's global ID.")],
        overlap_seconds: Annotated[int | None, strawberry.argument(
            description="How long the old secret signs as well, 0 to 2592000 seconds; 0 stops it at once. "
                        "Default: the server's GROUPBUY_WEBHOOK_SECRET_OVERLAP_SECONDS (a day).")] = None,
    ) -> WebhookSubscriptionPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            rotated = await webhooks.rotate_secret(session, tenant_id=context.tenant.id,
                                                   id=decode(id, "WebhookSubscription"),
                                                   overlap_seconds=overlap_seconds)
            return {"webhook_subscription": WebhookSubscription.of(rotated.subscription), "secret": rotated.secret}

        return await run_mutation(context, WebhookSubscriptionPayload, action)

    @strawberry.mutation(description="Admins: one more attempt of a FAILED webhook delivery, sent within seconds "
                                     "with the same webhook-id; failing again leaves it FAILED.")
    @admins
    async def webhook_delivery_retry(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The delivery's ID (WebhookDelivery.id).")],
    ) -> WebhookDeliveryPayload:
        context = info.context

        async def action(session: AsyncSession) -> dict[str, Any]:
            view = await webhooks.retry_delivery(session, tenant_id=context.tenant.id,
                                                 id=decode(id, "WebhookDelivery"))
            return {"webhook_delivery": WebhookDelivery.of(view)}

        return await run_mutation(context, WebhookDeliveryPayload, action)

    @strawberry.mutation(
        description="Marks one of the caller's own notifications read; false for any other ID."
    )
    @signed_in
    async def notification_mark_read(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The notification's global ID.")],
    ) -> bool:
        context = info.context
        user_id = context.principal.user_id
        notification_id = global_id.decode_as(id, "Notification")
        if user_id is None or notification_id is None or context.principal.tenant is None:
            return False
        async with serial_session(context) as session:
            return await inbox.mark_read(
                session, tenant_id=context.tenant.id, user_id=user_id, id=notification_id
            )
