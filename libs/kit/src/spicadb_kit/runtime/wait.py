"""`spicadb wait NAME`: wait until a service can start, i.e. its schema is at its code's version and its
streams and durable consumers exist. A deployment's init container runs it (the Helm chart's), so that a
service's pods start only once the migration and the provisioning Jobs have done their part, without
the pods needing any access to the Kubernetes API. Connects as the service itself (its
SPICADB_DATABASE_URL and SPICADB_NATS_URL), so it also proves the service's own credentials work.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys

import asyncpg
import nats
from nats.js.errors import NotFoundError

from ..events.bus import nats_servers
from ..migrate import schema_status, service_migrations
from ..settings import ServiceSettings
from ..spec import ServiceSpec

__all__ = ["missing", "wait_until_startable"]

_CONNECT_SECONDS = 5.0


async def _database_missing(spec: ServiceSpec, settings: ServiceSettings) -> list[str]:
    try:
        conn = await asyncpg.connect(settings.database_url, timeout=_CONNECT_SECONDS)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return [f"database: {type(exc).__name__}: {exc}"]
    try:
        _, todo = await schema_status(conn, spec.schema, service_migrations(spec))
    except asyncpg.PostgresError as exc:  # the schema or its table not made yet, or not ours
        return [f"schema {spec.schema}: {exc}"]
    finally:
        await conn.close()
    return [f"migration {name} not applied" for name in todo]


async def _bus_missing(spec: ServiceSpec, settings: ServiceSettings) -> list[str]:
    if not spec.streams and not spec.consumers:
        return []
    try:
        nc = await nats.connect(
            nats_servers(settings.nats_url),
            connect_timeout=_CONNECT_SECONDS,
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )
    except Exception as exc:  # nats-py raises its own errors and OSError alike
        return [f"NATS: {type(exc).__name__}: {exc}"]
    found: list[str] = []
    try:
        js = nc.jetstream(timeout=_CONNECT_SECONDS)
        for stream in spec.streams:
            with contextlib.suppress(NotFoundError):
                await js.stream_info(stream.name)
                continue
            found.append(f"stream {stream.name} not provisioned")
        for consumer in spec.consumers:
            with contextlib.suppress(NotFoundError):
                await js.consumer_info(consumer.stream, consumer.durable)
                continue
            found.append(f"consumer {consumer.stream}/{consumer.durable} not provisioned")
    except Exception as exc:  # JetStream not ready yet (no leader), timeouts
        found.append(f"JetStream: {type(exc).__name__}: {exc}")
    finally:
        await nc.close()
    return found


async def missing(spec: ServiceSpec, settings: ServiceSettings) -> list[str]:
    """What the service still lacks to start, in words; empty when it can start."""
    return await _database_missing(spec, settings) + await _bus_missing(spec, settings)


async def wait_until_startable(
    spec: ServiceSpec, settings: ServiceSettings, *, timeout: float = 0.0, interval: float = 2.0
) -> bool:
    """Poll until nothing is missing (True), or ``timeout`` seconds have passed (False; 0: no limit).
    Says on stderr what it waits for, each time that changes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout > 0 else None
    said: list[str] = []
    while True:
        lacking = await missing(spec, settings)
        if not lacking:
            print(f"{spec.name}: schema current, streams and consumers provisioned", file=sys.stderr)
            return True
        if lacking != said:
            print(f"{spec.name}: waiting for " + "; ".join(lacking), file=sys.stderr)
            said = lacking
        if deadline is not None and loop.time() >= deadline:
            return False
        await asyncio.sleep(interval)
