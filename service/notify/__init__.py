"""Notifications (invariant 5): the outbox relay, in-app notifications, webhooks and e-mail.

How an event travels:
1. A domain writes an `outbox_event` row in the transaction of the change (`outbox.emit`).
2. The relay (`relay.py`; scheduler job `relay-outbox`, or `service.tasks.notify.request_relay`
   right after a commit) locks pending events (SKIP LOCKED) and, in one transaction per tenant,
   inserts the in-app `notification` rows (`recipients.py` says who) and one `delivery` row per
   (event, channel, target) — unique keys with ON CONFLICT DO NOTHING, so relaying again adds
   nothing — then marks the events relayed.
3. After each relay transaction commits, its deliveries are enqueued as `deliver_batch(tenant_id,
   ids, endpoint)` messages: grouped by endpoint (a webhook subscription, or e-mail), up to 128
   per message, then marked enqueued. If Redis is down the enqueue fails and is logged; the
   scheduler job `retry-deliveries` enqueues every due delivery without a live message (never
   enqueued, enqueued longer ago than GROUPBUY_DELIVERY_REQUEUE_SECONDS, or SENDING for longer
   than GROUPBUY_DELIVERY_STUCK_SECONDS).
   A broker outage delays deliveries; PostgreSQL is the record.
4. `delivery.py` works in chunks of 32 (4 for e-mail): ONE conditional UPDATE claims the chunk's
   due deliveries with their details (row locks in id order: concurrent runs neither deadlock nor
   claim the same attempt), their POSTs go out concurrently outside any transaction on kept-alive
   connections (`http.py`), and ONE statement records every outcome: DELIVERED on 2xx (250 for
   SMTP), otherwise PENDING again after the next step of GROUPBUY_DELIVERY_RETRY_SCHEDULE (seconds,
   ±20% jitter; default 5s, 5m, 30m, 2h, 5h, 10h, 10h), FAILED when it is exhausted; attempts and
   the last error stay on the row and show in GraphQL (`webhookSubscriptions { deliveries { status
   attempts lastError } }`). A worker process has at most 4 chunks of one endpoint in flight; a
   message that cannot get a slot within 2 s goes back to the broker, so a slow endpoint holds
   neither other endpoints' deliveries nor all worker threads. Nothing waits between a claim and
   its sends, so each attempt is sent well within its lease (the stuck time).

For webhook receivers (Standard Webhooks): every request carries `webhook-id` (the same for every
attempt of an event: de-duplicate on it), `webhook-timestamp` and `webhook-signature:
v1,<base64 HMAC-SHA256(secret, "{id}.{timestamp}.{body}")>`, where the secret is the base64 after
`whsec_` in what `webhookSubscriptionCreate` returned once. The body is
`{"type": EVENT, "timestamp": ISO-8601, "data": {"tenant": slug, "subject": {type, id}, ...}}`
with every id a global ID. URLs must be https (to a public address in production); plain http is
accepted for loopback addresses only when GROUPBUY_ENV is dev or test. Redirects are not followed.

Secrets are never stored: each is HMAC-SHA256(GROUPBUY_WEBHOOK_KEY, "<subscription id>:<version>")
(`signing.py`), the key generated once into the data directory unless configured — every API and
worker process must share it. E-mail goes over SMTP (GROUPBUY_SMTP_HOST/PORT/FROM/USER/PASSWORD,
GROUPBUY_SMTP_STARTTLS) when a host is configured, to suppliers' contact address for
PURCHASE_ORDER_CREATED and to the leader's account address for PICK_LIST_READY; the relay decides
whether to create e-mail deliveries, so the scheduler needs GROUPBUY_SMTP_HOST too.
"""
