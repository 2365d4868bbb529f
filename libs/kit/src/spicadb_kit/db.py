"""asyncpg pool lifecycle for a service that owns one schema.

The pool sets ``search_path`` to the service's schema, encodes JSON with msgspec, and
drops idle connections early so a restarted PostgreSQL is noticed quickly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import asyncpg
import msgspec

from .logs import get_logger

__all__ = [
    "CONNECTION_ERRORS",
    "create_pool",
    "init_connection",
    "is_connection_error",
    "pool_statistics",
    "retrying",
    "transaction",
    "wait_for_pool",
]

log = get_logger(__name__)

T = TypeVar("T")

# Errors after which a new connection (not a new request) can succeed.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)


def is_connection_error(exc: BaseException) -> bool:
    """Whether an error means the connection (or the server) went away, so the work may be retried on
    another connection."""
    # A statement past the command timeout (TimeoutError, an OSError) leaves a working connection:
    # the work failed, and retrying it on a new connection would fail the same way for ever.
    if isinstance(exc, TimeoutError):
        return False
    return isinstance(exc, (CONNECTION_ERRORS, asyncpg.exceptions.PostgresConnectionError))


def _encode_jsonb(value: object) -> bytes:
    return b"\x01" + msgspec.json.encode(value)  # binary jsonb: a version byte, then the text


def _decode_jsonb(data: bytes) -> object:
    return msgspec.json.decode(data[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    # binary codecs, so that COPY (outbox batches) can carry JSON too
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=msgspec.json.encode, decoder=msgspec.json.decode, format="binary"
    )


async def init_connection(conn: asyncpg.Connection) -> None:
    """Public alias for pools made outside :func:`create_pool` (tests, tools)."""
    await _init_connection(conn)


async def create_pool(
    dsn: str, *, schema: str, application: str, min_size: int = 1, max_size: int = 10
) -> asyncpg.Pool:
    """A connection pool of one service: its schema first on the search path, its name on each connection
    (pg_stat_activity), statements bounded in time."""
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=60.0,
        init=_init_connection,
        server_settings={"search_path": f"{schema},public", "application_name": application},
        command_timeout=60,
    )
    assert pool is not None
    return pool


async def wait_for_pool(
    dsn: str, *, schema: str, application: str, timeout: float = 30.0, **kwargs: Any
) -> asyncpg.Pool:
    """Create the pool, retrying while PostgreSQL is still starting."""
    deadline = asyncio.get_running_loop().time() + timeout
    delay = 0.2
    while True:
        try:
            return await create_pool(dsn, schema=schema, application=application, **kwargs)
        except Exception as exc:
            # a connection attempt that timed out is worth another one while PostgreSQL starts
            unreachable = is_connection_error(exc) or isinstance(exc, TimeoutError)
            if not unreachable or asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("database not reachable yet", error=str(exc))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)


@asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection inside one transaction: committed on exit, rolled back on error."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


async def retrying(
    pool: asyncpg.Pool, work: Callable[[asyncpg.Connection], Awaitable[T]], attempts: int = 3
) -> T:
    """Run an idempotent transaction, retrying on a broken connection (stale pooled sockets)."""
    for attempt in range(1, attempts + 1):
        try:
            async with transaction(pool) as conn:
                return await work(conn)
        except Exception as exc:
            if attempt == attempts or not is_connection_error(exc):
                raise
            await asyncio.sleep(0.5 * attempt)
    raise AssertionError("unreachable")


def pool_statistics(pool: asyncpg.Pool) -> dict[str, int]:
    """The pool's size and idle connections, for the readiness report."""
    return {
        "size": pool.get_size(),
        "idle": pool.get_idle_size(),
        "min": pool.get_min_size(),
        "max": pool.get_max_size(),
    }
