"""Provisioning: make JetStream match the streams and consumers declared in code.

Done as its own step (``spicadb provision``, `make run`, the Helm hook) because nats.py
silently keeps an existing consumer's configuration when a subscriber asks for another.
"""

from __future__ import annotations

from collections.abc import Iterable

from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from ..logs import get_logger
from ..spec import ConsumerDecl, ServiceSpec, StreamDecl

log = get_logger(__name__)


def stream_config(decl: StreamDecl) -> api.StreamConfig:
    return api.StreamConfig(
        name=decl.name,
        subjects=list(decl.subjects),
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=decl.max_age_seconds,
        duplicate_window=decl.duplicate_window_seconds,
        num_replicas=decl.replicas,
    )


def consumer_config(decl: ConsumerDecl) -> api.ConsumerConfig:
    return api.ConsumerConfig(
        name=decl.durable,
        durable_name=decl.durable,
        deliver_policy=api.DeliverPolicy(decl.deliver_policy),
        ack_policy=api.AckPolicy.EXPLICIT,
        ack_wait=decl.ack_wait_seconds,
        # the runner counts deliveries itself and dead-letters in PostgreSQL; a server-side
        # limit would silently stop redelivering while the database is down
        max_deliver=-1,
        filter_subjects=list(decl.filter_subjects),
        max_ack_pending=decl.max_ack_pending,
    )


async def provision_stream(js: JetStreamContext, decl: StreamDecl) -> None:
    config = stream_config(decl)
    try:
        await js.stream_info(decl.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream created", stream=decl.name)
        return
    await js.update_stream(config)


async def provision_consumer(js: JetStreamContext, decl: ConsumerDecl) -> None:
    # CONSUMER.CREATE with a name creates or updates; the server refuses a change it cannot apply
    await js.add_consumer(decl.stream, consumer_config(decl))
    log.info("consumer provisioned", stream=decl.stream, consumer=decl.durable)


async def provision(js: JetStreamContext, specs: Iterable[ServiceSpec]) -> None:
    """Streams first (every producer), then consumers (they may read any stream)."""
    specs = list(specs)
    for spec in specs:
        for stream in spec.streams:
            await provision_stream(js, stream)
    for spec in specs:
        for consumer in spec.consumers:
            await provision_consumer(js, consumer)
