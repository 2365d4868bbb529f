"""Per-aggregate ordering: which fetched events of an aggregate may be applied now.

Each consumer keeps, per aggregate, the last version it applied (``consumer_position``). Its
declared ``spec.Ordering`` says what to do with the next ones: STRICT applies versions one after
the other (an event that arrives before its predecessor is *early*: it waits, its first sighting
kept in ``consumer_wait`` so the wait counts across restarts and replicas, and after the
consumer's gap patience it is dead-lettered with a :class:`GapError`); LATEST, for a consumer of
a subset of an aggregate's events, applies newer versions across gaps; NONE applies everything.
Under STRICT and LATEST an event at or below the position is *stale*: applied already, or older
than state already applied, so it is acknowledged with no effect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import asyncpg

from ..spec import Ordering
from .delivery import Delivery

__all__ = ["GapError", "Sorted", "advance", "gap_error", "last_version", "sighted", "sort", "waiting"]

# One primary-key lookup per aggregate (LATERAL ... OFFSET 0 keeps the planner from turning this into
# a scan of every position when statistics call the consumer rare, e.g. a new consumer backfilling).
_POSITIONS = """
SELECT u.t, u.i, p.last_version FROM unnest($2::text[], $3::text[]) AS u(t, i)
CROSS JOIN LATERAL (
    SELECT last_version FROM consumer_position p
    WHERE p.consumer = $1 AND p.aggregate_type = u.t AND p.aggregate_id = u.i OFFSET 0
) AS p
"""
_POSITION = """
SELECT last_version FROM consumer_position WHERE consumer = $1 AND aggregate_type = $2 AND aggregate_id = $3
"""
# the positions move forward, and the events no longer early stop waiting (same round trip)
_ADVANCE = """
WITH settled AS (DELETE FROM consumer_wait WHERE consumer = $1 AND event_id = ANY($5::uuid[]))
INSERT INTO consumer_position AS p (consumer, aggregate_type, aggregate_id, last_version)
SELECT $1, t, i, v FROM unnest($2::text[], $3::text[], $4::bigint[]) AS u(t, i, v)
ON CONFLICT (consumer, aggregate_type, aggregate_id)
DO UPDATE SET last_version = greatest(p.last_version, excluded.last_version)
"""
# an early event's first sighting by this consumer, kept across restarts; how long each has waited
_SIGHTED = """
WITH new AS (
    INSERT INTO consumer_wait (consumer, event_id, aggregate_type, aggregate_id, aggregate_version)
    SELECT $1, e, t, i, v FROM unnest($2::uuid[], $3::text[], $4::text[], $5::bigint[]) AS u(e, t, i, v)
    ON CONFLICT DO NOTHING RETURNING event_id
)
SELECT event_id, extract(epoch FROM now() - first_seen_at)::float8 AS waited FROM consumer_wait
WHERE consumer = $1 AND event_id = ANY($2::uuid[])
UNION ALL SELECT event_id, 0.0 FROM new
"""
_WAITING = """
SELECT count(*) AS waiting, coalesce(extract(epoch FROM now() - min(first_seen_at)), 0)::float8 AS oldest
FROM consumer_wait WHERE consumer = $1
"""


@dataclass
class Sorted:
    """A batch split by the ordering rule."""

    ready: list[Delivery] = field(default_factory=list)
    stale: list[Delivery] = field(default_factory=list)  # already applied (older version)
    early: list[Delivery] = field(default_factory=list)  # a predecessor is still missing


class GapError(RuntimeError):
    """An event arrived while an earlier version of its aggregate is still missing."""


def gap_error(delivery: Delivery, waited: float) -> GapError:
    """The error an early event is dead-lettered with once it has waited too long."""
    envelope = delivery.envelope
    return GapError(
        f"{envelope.aggregate_type} {envelope.subject}: version "
        f"{envelope.aggregate_version} waited {waited:.0f}s for its predecessor"
    )


async def sort(
    conn: asyncpg.Connection, consumer: str, ordering: Ordering, deliveries: list[Delivery]
) -> Sorted:
    """Split a batch, in stream order, into the events to apply now, the stale and the early."""
    if ordering is Ordering.NONE:
        return Sorted(ready=list(deliveries))
    latest = ordering is Ordering.LATEST
    keys = sorted({d.aggregate for d in deliveries})
    rows = await conn.fetch(_POSITIONS, consumer, [k[0] for k in keys], [k[1] for k in keys])
    position: dict[tuple[str, str], int] = {(r[0], r[1]): r[2] for r in rows}
    split = Sorted()
    for delivery in deliveries:
        version = delivery.envelope.aggregate_version
        last = position.get(delivery.aggregate, 0)
        if version <= last:
            split.stale.append(delivery)
        elif version == last + 1 or latest:  # latest: gaps are versions it does not take
            position[delivery.aggregate] = version
            split.ready.append(delivery)
        else:
            split.early.append(delivery)
    return split


async def advance(conn: asyncpg.Connection, consumer: str, settled: Sequence[Delivery]) -> None:
    """Move the positions of the settled events' aggregates forward (never back) and stop their waits."""
    last: dict[tuple[str, str], int] = {}
    for d in settled:
        last[d.aggregate] = max(last.get(d.aggregate, 0), d.envelope.aggregate_version)
    keys = sorted(last)
    await conn.execute(
        _ADVANCE,
        consumer,
        [k[0] for k in keys],
        [k[1] for k in keys],
        [last[k] for k in keys],
        [d.envelope.id for d in settled],
    )


async def last_version(
    conn: asyncpg.Connection, consumer: str, aggregate_type: str, aggregate_id: str
) -> int | None:
    """The last version of one aggregate the consumer applied, None before its first."""
    version: int | None = await conn.fetchval(_POSITION, consumer, aggregate_type, aggregate_id)
    return version


async def sighted(pool: asyncpg.Pool, consumer: str, early: Sequence[Delivery]) -> dict[UUID, float]:
    """Seconds each early event has waited since this consumer first saw it."""
    rows = await pool.fetch(
        _SIGHTED,
        consumer,
        [d.envelope.id for d in early],
        [d.envelope.aggregate_type for d in early],
        [d.envelope.subject for d in early],
        [d.envelope.aggregate_version for d in early],
    )
    return {r["event_id"]: r["waited"] for r in rows}


async def waiting(pool: asyncpg.Pool, consumer: str) -> dict[str, Any]:
    """Early events waiting for a missing predecessor (every replica's), and the oldest wait."""
    row = await pool.fetchrow(_WAITING, consumer)
    return {"waiting": row["waiting"], "oldest_wait_seconds": round(row["oldest"], 1)}
