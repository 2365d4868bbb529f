"""Provisioning: make JetStream match the streams and consumers declared in code.

Done as its own step (``spicadb provision``, `make run`, the Helm hook) because nats.py
silently keeps an existing consumer's configuration when a subscriber asks for another.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterable

import asyncpg
from nats.js import JetStreamContext, api
from nats.js.errors import NotFoundError

from ..logs import get_logger
from ..spec import ConsumerDecl, ServiceSpec, StreamDecl

__all__ = [
    "backfill",
    "consumer_config",
    "provision",
    "provision_consumer",
    "provision_stream",
    "stream_config",
]

log = get_logger(__name__)


def stream_config(decl: StreamDecl) -> api.StreamConfig:
    """The JetStream configuration of a declared stream (file storage, limits retention)."""
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
    """The JetStream configuration of a declared durable pull consumer (explicit acks)."""
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
    """Create the stream, or bring an existing one to its declared configuration."""
    config = stream_config(decl)
    try:
        await js.stream_info(decl.name)
    except NotFoundError:
        await js.add_stream(config)
        log.info("stream created", stream=decl.name)
        return
    await js.update_stream(config)


async def provision_consumer(js: JetStreamContext, decl: ConsumerDecl) -> None:
    """Create the durable consumer, or bring an existing one to its declared configuration."""
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


async def backfill(js: JetStreamContext, pool: asyncpg.Pool, decl: ConsumerDecl, *, forget: bool) -> None:
    """Deliver a consumer's stream again from its start: the durable is deleted and created anew
    (deliver policy all). With ``forget`` the consumer's inbox and aggregate positions go too, so
    every event still in the stream is applied again (to rebuild a copy that was wiped); without it,
    events already applied are recognised and skipped. Stop the service's consumer first."""
    with contextlib.suppress(NotFoundError):
        await js.delete_consumer(decl.stream, decl.durable)
    if forget:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM inbox WHERE consumer = $1", decl.durable)
            await conn.execute("DELETE FROM consumer_position WHERE consumer = $1", decl.durable)
            await conn.execute("DELETE FROM consumer_wait WHERE consumer = $1", decl.durable)
    await js.add_consumer(decl.stream, consumer_config(dataclasses.replace(decl, deliver_policy="all")))
    log.info(
        "consumer reset to the start of its stream", stream=decl.stream, consumer=decl.durable, forget=forget
    )
