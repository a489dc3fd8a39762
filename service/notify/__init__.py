"""Notifications (invariant 5): the outbox relay, in-app notifications, webhooks and e-mail.

Every domain writes outbox rows in the transaction of the change (`outbox.emit`); the relay
expands each event into `notification` rows and `delivery` rows in one transaction per tenant;
dramatiq actors send the deliveries, retrying with back-off, and the scheduler re-enqueues any
delivery whose message was lost with the broker.
"""
