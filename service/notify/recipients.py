"""Who hears of each event: every recipient query in one place, set-based over a batch of events.

Each query takes `:tenant_id` and `:ids` (outbox event ids) and returns (event_id, user_id) for
in-app notifications or (event_id, address) for e-mail. They read the subject and the payload
(see `service.notify.outbox` for what each event carries); a payload value that is not a UUID is
ignored rather than failing the relay of the whole batch.
"""

from __future__ import annotations

from service.notify.events import WebhookEvent as E


def _uuid(key: str) -> str:
    """The payload value under `key` (camelCase or snake_case) as a uuid, or NULL."""
    snake = "".join("_" + c.lower() if c.isupper() else c for c in key)
    value = f"COALESCE(e.payload->>'{key}', e.payload->>'{snake}')"
    return (
        f"(CASE WHEN {value} ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$' "
        f"THEN CAST({value} AS uuid) END)"
    )


def _subject_or(subject_type: str, key: str) -> str:
    return f"COALESCE(CASE WHEN e.subject_type = '{subject_type}' THEN e.subject_id END, {_uuid(key)})"


_EVENTS = "e.tenant_id = :tenant_id AND e.id = ANY(CAST(:ids AS uuid[]))"
_ORDER_EVENTS = ", ".join(
    f"'{e.value}'"
    for e in (
        E.ORDER_PLACED,
        E.ORDER_PAID,
        E.ORDER_CANCELLED,
        E.ORDER_READY_FOR_PICKUP,
        E.ORDER_PICKED_UP,
        E.REFUND_CREATED,
        E.PICKUP_REMINDER,
    )
)

# The order an ORDER_* or REFUND_CREATED event is about: its subject, the refund's order, or `orderId`.
_ORDER_OF_EVENT = f"""COALESCE(
    CASE WHEN e.subject_type = 'order' THEN e.subject_id END,
    (SELECT r.order_id FROM refund r
      WHERE e.subject_type = 'refund' AND r.tenant_id = e.tenant_id AND r.id = e.subject_id),
    {_uuid("orderId")})"""

_POINT_OF_EVENT = _subject_or("pickup_point", "pickupPointId")
_SUPPLIER_OF_EVENT = _subject_or("supplier", "supplierId")

# (event_id, user_id, event, created_at) of everyone to notify in-app (the event's columns come along so
# the caller need not join the events again: that join was planned as a nested loop, quadratic in the batch).
IN_APP_RECIPIENTS = f"""
SELECT e.id AS event_id, o.customer_id AS user_id, e.event, e.created_at
  FROM outbox_event e
  JOIN customer_order o ON o.tenant_id = e.tenant_id AND o.id = {_ORDER_OF_EVENT}
 WHERE {_EVENTS} AND e.event IN ({_ORDER_EVENTS})
UNION
SELECT e.id, l.user_id, e.event, e.created_at
  FROM outbox_event e
  JOIN pickup_point p ON p.tenant_id = e.tenant_id AND p.id = {_POINT_OF_EVENT}
  JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
 WHERE {_EVENTS} AND e.event = '{E.PICK_LIST_READY.value}'
UNION
SELECT e.id, u.id, e.event, e.created_at
  FROM outbox_event e
  JOIN app_user u ON u.tenant_id = e.tenant_id AND u.supplier_id = {_SUPPLIER_OF_EVENT}
 WHERE {_EVENTS} AND e.event = '{E.PURCHASE_ORDER_CREATED.value}'
UNION
SELECT e.id, o.customer_id, e.event, e.created_at
  FROM outbox_event e
  JOIN customer_order o ON o.tenant_id = e.tenant_id AND o.batch_id = e.subject_id
 WHERE {_EVENTS} AND e.event = '{E.BATCH_CANCELLED.value}' AND e.subject_type = 'batch'
UNION
SELECT e.id, l.user_id, e.event, e.created_at
  FROM outbox_event e
  JOIN customer_order o ON o.tenant_id = e.tenant_id AND o.batch_id = e.subject_id
  JOIN leader l ON l.tenant_id = o.tenant_id AND l.id = o.leader_id
 WHERE {_EVENTS} AND e.event = '{E.BATCH_CANCELLED.value}' AND e.subject_type = 'batch'
UNION
SELECT e.id, CAST(x.value AS uuid), e.event, e.created_at
  FROM outbox_event e
  CROSS JOIN LATERAL jsonb_array_elements_text(
      CASE WHEN jsonb_typeof(COALESCE(e.payload->'userIds', e.payload->'user_ids')) = 'array'
           THEN COALESCE(e.payload->'userIds', e.payload->'user_ids') ELSE '[]'::jsonb END) AS x(value)
 WHERE {_EVENTS}
   AND x.value ~* '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$'
"""

# The supplier's staff hear of a delivery discrepancy on their purchase order (its subject).
IN_APP_RECIPIENTS += f"""
UNION
SELECT e.id, u.id, e.event, e.created_at
  FROM outbox_event e
  JOIN purchase_order po ON po.tenant_id = e.tenant_id AND po.id = e.subject_id
  JOIN app_user u ON u.tenant_id = po.tenant_id AND u.supplier_id = po.supplier_id
 WHERE {_EVENTS} AND e.event = '{E.DELIVERY_DISCREPANCY.value}' AND e.subject_type = 'purchase_order'
"""

# (event_id, address) of every e-mail to send (only relayed when SMTP is configured).
EMAIL_RECIPIENTS = f"""
SELECT e.id AS event_id, lower(s.contact_email) AS address
  FROM outbox_event e
  JOIN supplier s ON s.tenant_id = e.tenant_id AND s.id = {_SUPPLIER_OF_EVENT}
 WHERE {_EVENTS} AND e.event = '{E.PURCHASE_ORDER_CREATED.value}' AND s.contact_email LIKE '%@%'
UNION
SELECT e.id, lower(u.email)
  FROM outbox_event e
  JOIN pickup_point p ON p.tenant_id = e.tenant_id AND p.id = {_POINT_OF_EVENT}
  JOIN leader l ON l.tenant_id = p.tenant_id AND l.id = p.leader_id
  JOIN app_user u ON u.tenant_id = l.tenant_id AND u.id = l.user_id
 WHERE {_EVENTS} AND e.event = '{E.PICK_LIST_READY.value}' AND u.email LIKE '%@%' AND u.disabled_at IS NULL
"""


# For the notification templates (service.notify.templates).
ORDER_OF_EVENT = _ORDER_OF_EVENT
event_uuid = _uuid
EMAIL_RECIPIENTS += f"""
UNION
SELECT e.id, lower(s.contact_email)
  FROM outbox_event e
  JOIN purchase_order po ON po.tenant_id = e.tenant_id AND po.id = e.subject_id
  JOIN supplier s ON s.tenant_id = po.tenant_id AND s.id = po.supplier_id
 WHERE {_EVENTS} AND e.event = '{E.DELIVERY_DISCREPANCY.value}' AND e.subject_type = 'purchase_order'
   AND s.contact_email LIKE '%@%'
"""
