"""Provisioning: make JetStream match the streams and consumers declared in code.

Done as its own step (``spicadb provision``, `make run`, the Helm chart's Job) because nats.py
silently keeps an existing consumer's configuration when a subscriber asks for another.
The number of replicas of every stream is the deployment's (``SPICADB_STREAM_REPLICAS``: 3 on a
three-node cluster); an existing stream is scaled to it, its consumers follow it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Iterable

import asyncpg
from nats.js import JetStreamContext, api
from nats.js.errors import APIError, NotFoundError

from ..logs import get_logger
from ..spec import ConsumerDecl, ServiceSpec, StreamDecl

__all__ = [
    "ProvisionError",
    "backfill",
    "consumer_config",
    "provision",
    "provision_consumer",
    "provision_stream",
    "stream_config",
    "wait_replicated",
]

log = get_logger(__name__)


class ProvisionError(RuntimeError):
    """The server refused a stream's declared configuration."""


def stream_config(decl: StreamDecl, replicas: int | None = None) -> api.StreamConfig:
    """The JetStream configuration of a declared stream (file storage, limits retention), with
    ``replicas`` copies when given (the deployment's), else the declaration's."""
    return api.StreamConfig(
        name=decl.name,
        subjects=list(decl.subjects),
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        max_age=decl.max_age_seconds,
        duplicate_window=decl.duplicate_window_seconds,
        num_replicas=replicas or decl.replicas,
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


async def provision_stream(js: JetStreamContext, decl: StreamDecl, replicas: int | None = None) -> None:
    """Create the stream, or bring an existing one to its declared configuration (JetStream scales
    the replicas of an existing stream); a configuration the server refuses is a ProvisionError
    saying why (3 replicas on a single server, say)."""
    config = stream_config(decl, replicas)
    try:
        try:
            info = await js.stream_info(decl.name)
        except NotFoundError:
            await js.add_stream(config)
            log.info("stream created", stream=decl.name, replicas=config.num_replicas)
            return
        await js.update_stream(config)
    except APIError as exc:
        raise ProvisionError(
            f"stream {decl.name} with {config.num_replicas} replica(s) refused by NATS: {exc.description}"
        ) from exc
    if info.config.num_replicas != config.num_replicas:
        log.info(
            "stream replicas changed",
            stream=decl.name,
            was=info.config.num_replicas,
            replicas=config.num_replicas,
        )


async def provision_consumer(js: JetStreamContext, decl: ConsumerDecl) -> None:
    """Create the durable consumer, or bring an existing one to its declared configuration."""
    # CONSUMER.CREATE with a name creates or updates; the server refuses a change it cannot apply
    await js.add_consumer(decl.stream, consumer_config(decl))
    log.info("consumer provisioned", stream=decl.stream, consumer=decl.durable)


async def provision(
    js: JetStreamContext, specs: Iterable[ServiceSpec], *, replicas: int | None = None
) -> None:
    """Streams first (every producer), then consumers (they may read any stream). ``replicas``: the
    copies of every stream (the deployment's ``SPICADB_STREAM_REPLICAS``), else each one's declared."""
    specs = list(specs)
    for spec in specs:
        for stream in spec.streams:
            await provision_stream(js, stream, replicas)
    for spec in specs:
        for consumer in spec.consumers:
            await provision_consumer(js, consumer)
    for spec in specs:
        for stream in spec.streams:
            if (replicas or stream.replicas) > 1:
                await wait_replicated(js, stream.name)


async def wait_replicated(js: JetStreamContext, stream: str, timeout: float = 30.0) -> None:
    """Wait until the stream and each of its consumers have a leader and every replica is current.
    A scaled stream copies itself to its new peers, and its consumers follow a moment later: a node
    lost before then would take with it the only copy of a consumer."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await _replicated(js, stream):
        if asyncio.get_running_loop().time() > deadline:
            raise ProvisionError(f"stream {stream}: its replicas are not current after {timeout:.0f} s")
        await asyncio.sleep(0.2)


async def _replicated(js: JetStreamContext, stream: str) -> bool:
    info = await js.stream_info(stream)
    clusters = [info.cluster]
    consumers = await js.consumers_info(stream)
    clusters += [consumer.cluster for consumer in consumers]
    wanted = (info.config.num_replicas or 1) - 1
    return all(
        cluster is not None
        and cluster.leader is not None
        and len(peers := cluster.replicas or []) == wanted
        and all(peer.current for peer in peers)
        for cluster in clusters
    )


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
