"""The outbox's backlog for readiness: rows waiting for the relay, parked rows, the oldest of each.

The health report turns it into a problem when the oldest waiting row is older than
``SPICADB_RELAY_STUCK_SECONDS`` (nothing reaches the consumers) and into a warning while a row
is parked (the others flow; that one waits for an operator).
"""

from __future__ import annotations

from typing import Any

import asyncpg

__all__ = ["outbox_backlog"]

_BACKLOG = """
SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL AND parked_at IS NULL) AS pending,
       (SELECT count(*) FROM outbox WHERE parked_at IS NOT NULL) AS parked
"""
_OLDEST = """
SELECT id, event_type, aggregate_id, aggregate_version, created_at, last_error,
       extract(epoch FROM now() - created_at)::float8 AS age
FROM outbox WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT 1
"""
_FIRST_PARKED = """
SELECT id, event_type, aggregate_id, aggregate_version, park_reason
FROM outbox WHERE parked_at IS NOT NULL ORDER BY id LIMIT 1
"""


async def outbox_backlog(pool: asyncpg.Pool) -> dict[str, Any]:
    """Rows waiting for the relay and parked rows, with the oldest of each (for readiness)."""
    counts = await pool.fetchrow(_BACKLOG)
    oldest = await pool.fetchrow(_OLDEST)
    parked = await pool.fetchrow(_FIRST_PARKED)
    assert counts is not None
    return {
        "unpublished": counts["pending"],
        "oldest": oldest["created_at"].isoformat() if oldest else None,
        "oldest_age_seconds": round(oldest["age"], 3) if oldest else None,
        "oldest_event": _describe(oldest) if oldest else None,
        "oldest_error": oldest["last_error"] if oldest else None,
        "parked": counts["parked"],
        "first_parked": {**_describe(parked), "reason": parked["park_reason"]} if parked else None,
    }


def _describe(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "aggregate_id": row["aggregate_id"],
        "aggregate_version": row["aggregate_version"],
    }
