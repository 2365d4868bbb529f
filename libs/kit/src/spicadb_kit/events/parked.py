"""The operators' commands on parked outbox rows: ``spicadb outbox list|retry|discard``.

A parked row is one the relay set aside because NATS will not take it as it is; it stays until
an operator puts it back in line (after raising a limit, say) or discards it for good.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

__all__ = ["discard_parked", "parked_events", "retry_parked"]


async def parked_events(pool: asyncpg.Pool) -> list[asyncpg.Record]:
    """The parked rows of the pool's schema, oldest first."""
    return list(
        await pool.fetch(
            "SELECT id, event_id, event_type, aggregate_id, aggregate_version, octet_length(payload) AS size,"
            " attempts, created_at, parked_at, park_reason FROM outbox WHERE parked_at IS NOT NULL ORDER BY id"
        )
    )


async def retry_parked(pool: asyncpg.Pool, ids: Sequence[int] = ()) -> int:
    """Put parked rows (all, or these ids) back in line and wake the relay; returns how many."""
    async with pool.acquire() as conn, conn.transaction():
        status = await conn.execute(
            "UPDATE outbox SET parked_at = NULL, park_reason = NULL, attempts = 0"
            " WHERE parked_at IS NOT NULL AND (cardinality($1::bigint[]) = 0 OR id = ANY($1::bigint[]))",
            list(ids),
        )
        await conn.execute("SELECT pg_notify(current_schema() || '_outbox', '')")
    return int(status.split()[-1])


async def discard_parked(pool: asyncpg.Pool, ids: Sequence[int]) -> int:
    """Delete these parked rows for good (their consumers never get them); returns how many."""
    status = await pool.execute(
        "DELETE FROM outbox WHERE parked_at IS NOT NULL AND id = ANY($1::bigint[])", list(ids)
    )
    return int(status.split()[-1])
