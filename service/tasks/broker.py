"""The dramatiq broker on Redis, set up once per process before any actor is declared."""

from __future__ import annotations

import multiprocessing
import os

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AsyncIO

from service.observability.actors import ActorObservability
from service.processes import stop_with_parent
from service.redis_conn import redis_url


class StopWithMaster(dramatiq.Middleware):
    """A worker process stops (dramatiq's graceful SIGTERM) once its master is gone: killed
    outright, the master would leave it consuming the queues with nobody to restart or stop it,
    beside the next master's own processes."""

    def after_process_boot(self, broker: dramatiq.Broker) -> None:
        parent = multiprocessing.parent_process()  # the master's pid as it was at the start
        stop_with_parent(parent.pid if parent is not None and parent.pid else os.getppid())


def make_broker() -> RedisBroker:
    broker = RedisBroker(url=redis_url())
    broker.add_middleware(StopWithMaster())
    broker.add_middleware(AsyncIO())
    broker.add_middleware(ActorObservability())  # spans, log context, actor metrics
    return broker


broker = make_broker()
dramatiq.set_broker(broker)
