"""The dramatiq broker on Redis, set up once per process before any actor is declared."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from service.observability.actors import ActorObservability
from service.redis_conn import redis_url


def make_broker() -> RedisBroker:
    broker = RedisBroker(url=redis_url())
    broker.add_middleware(AsyncIO())
    broker.add_middleware(ActorObservability())  # spans, log context, actor metrics
    return broker


broker = make_broker()
dramatiq.set_broker(broker)
