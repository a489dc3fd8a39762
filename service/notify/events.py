"""The events of the public contract (`WebhookEvent`) and what the relay needs to know of each."""

from __future__ import annotations

from enum import Enum


class WebhookEvent(str, Enum):
    ORDER_PLACED = "ORDER_PLACED"
    ORDER_PAID = "ORDER_PAID"
    ORDER_CANCELLED = "ORDER_CANCELLED"
    ORDER_READY_FOR_PICKUP = "ORDER_READY_FOR_PICKUP"
    ORDER_PICKED_UP = "ORDER_PICKED_UP"
    BATCH_OPENED = "BATCH_OPENED"
    BATCH_CLOSED = "BATCH_CLOSED"
    BATCH_CANCELLED = "BATCH_CANCELLED"
    PURCHASE_ORDER_CREATED = "PURCHASE_ORDER_CREATED"
    PICK_LIST_READY = "PICK_LIST_READY"
    REFUND_CREATED = "REFUND_CREATED"
    GROUP_OPENED = "GROUP_OPENED"
    GROUP_SUCCEEDED = "GROUP_SUCCEEDED"
    GROUP_FAILED = "GROUP_FAILED"


EVENT_NAMES = frozenset(e.value for e in WebhookEvent)
