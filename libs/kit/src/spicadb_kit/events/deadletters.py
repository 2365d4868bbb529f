"""Dead letters: events a consumer gave up on, kept in ``dead_letter`` until someone replays them.

An event is dead-lettered when its handler failed ``max_deliver`` times, when it waited past the
consumer's gap patience for a missing predecessor, or when it cannot be decoded at all. Its
message is kept whole (subject, headers, body) with the error, and terminated on the stream only
once the letter is stored. ``spicadb deadletters replay`` marks letters (:func:`request_replay`);
the running consumer applies them between fetches, each aggregate's in version order, stopping an
aggregate at its first failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

import asyncpg
from nats.aio.msg import Msg

from ..logs import get_logger
from ..spec import Ordering
from .delivery import ConsumerStats, Delivery, decode_delivery
from .dispatch import claim_inbox, dispatch
from .ordering import advance, last_version
from .registry import EventConsumer

__all__ = ["DeadLetters", "request_replay"]

log = get_logger(__name__)

# one open letter per message (its termination may be lost with the connection); a message that
# fails again after its letter was replayed (a backfill --forget) opens a new one
_DEAD = """
WITH settled AS (DELETE FROM consumer_wait WHERE consumer = $1 AND event_id = $2)
INSERT INTO dead_letter (consumer, event_id, event_type, subject, stream_seq, deliveries, headers, payload, error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (consumer, stream_seq) WHERE replayed_at IS NULL DO NOTHING
"""
_REPLAY_ASKED = """
SELECT EXISTS (SELECT 1 FROM dead_letter WHERE consumer = $1 AND replayed_at IS NULL
               AND replay_requested_at IS NOT NULL)
"""
# the open letters of the aggregates someone asked to replay, each aggregate's in version order
_REPLAYS = """
WITH open AS (
    SELECT id, stream_seq, replay_requested_at IS NOT NULL AS requested,
           headers->>'ce-aggregatetype' AS aggregate_type, headers->>'ce-subject' AS aggregate_id,
           CASE WHEN headers->>'ce-aggregateversion' ~ '^[0-9]{1,18}$'
                THEN (headers->>'ce-aggregateversion')::bigint END AS version
    FROM dead_letter WHERE consumer = $1 AND replayed_at IS NULL
)
SELECT * FROM open o WHERE o.requested OR EXISTS (
    SELECT 1 FROM open r WHERE r.requested AND r.aggregate_type = o.aggregate_type
    AND r.aggregate_id = o.aggregate_id
)
ORDER BY aggregate_type, aggregate_id, version, stream_seq, id LIMIT 500
"""
_LETTER = "SELECT headers, payload, subject FROM dead_letter WHERE id = $1 AND replayed_at IS NULL FOR UPDATE"
_REPLAYED = "UPDATE dead_letter SET replayed_at = now(), replay_error = NULL WHERE id = $1"
_NOT_REPLAYED = "UPDATE dead_letter SET replay_requested_at = NULL, replay_error = $2 WHERE id = $1"
_REQUEST = """
UPDATE dead_letter SET replay_requested_at = now(), replay_error = NULL
WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1)
AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[]))
"""


@dataclass
class _StoredMessage:
    """The parts of a NATS message a dead letter keeps, enough to decode it again."""

    subject: str
    headers: dict[str, str]
    data: bytes


class DeadLetters:
    """One consumer's dead letters: storing them, and replaying those someone asked for."""

    def __init__(self, consumer: EventConsumer, pool: asyncpg.Pool, stats: ConsumerStats) -> None:
        self.consumer = consumer
        self.pool = pool
        self.stats = stats

    @property
    def name(self) -> str:
        """The consumer whose letters these are."""
        return self.consumer.name

    async def add(self, delivery: Delivery, error: str) -> None:
        """Dead-letter a decoded event, then terminate its message."""
        envelope = delivery.envelope
        await self._store(delivery.msg, error, envelope.id, envelope.type, delivery.deliveries)
        log.error(
            "event dead-lettered",
            consumer=self.name,
            event_id=str(envelope.id),
            type=envelope.type,
            deliveries=delivery.deliveries,
            error=error,
        )

    async def add_undecodable(self, msg: Msg, error: str) -> None:
        """Dead-letter a message that is no event this consumer can read, then terminate it."""
        await self._store(
            msg, error, None, (msg.headers or {}).get("ce-type"), msg.metadata.num_delivered or 1
        )
        log.error("undecodable event dead-lettered", consumer=self.name, subject=msg.subject, error=error)

    async def _store(
        self, msg: Msg, error: str, event_id: UUID | None, event_type: str | None, n: int
    ) -> None:
        try:
            await self.pool.execute(
                _DEAD,
                self.name,
                event_id,
                event_type,
                msg.subject,
                msg.metadata.sequence.stream,
                n,
                dict(msg.headers or {}),
                msg.data,
                error[:4000],
            )
        except Exception as exc:  # not terminated: the message comes back and is dead-lettered then
            log.warning("cannot store dead letter yet", error=repr(exc))
            await msg.nak(delay=1.0)
            return
        self.stats.dead_lettered += 1
        await msg.term()

    async def replay_requested(self) -> int:
        """Apply the dead letters someone asked to replay (``spicadb deadletters replay``): each
        aggregate's in version order, stopping at its first failure (a strictly ordered consumer
        never applies a later version ahead of an earlier one still dead). One replica at a time."""
        try:
            async with self.pool.acquire() as conn:
                if not await conn.fetchval(_REPLAY_ASKED, self.name):
                    return 0  # the usual answer, on every idle fetch: one cheap query
                if not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self._replay_lock):
                    return 0
                try:
                    return await self._replay_round(conn)
                finally:
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self._replay_lock)
        except Exception as exc:
            log.debug("dead letter replay skipped", consumer=self.name, error=repr(exc))
            return 0

    @property
    def _replay_lock(self) -> str:
        return f"spicadb.replay.{self.name}"

    async def _replay_round(self, conn: asyncpg.Connection) -> int:
        rows = await conn.fetch(_REPLAYS, self.name)
        strict = self.consumer.ordering is Ordering.STRICT
        replayed = 0
        blocked: dict[tuple[str, str], int] = {}  # aggregate -> the letter that holds it back
        for row in rows:
            key = (row["aggregate_type"], row["aggregate_id"])
            if row["aggregate_type"] is None or row["aggregate_id"] is None:
                key = ("", f"letter {row['id']}")  # undecodable: a letter of its own
            blocker = blocked.get(key) if strict else None
            if blocker is not None:
                if row["requested"]:
                    await self._replay_held(conn, row["id"], blocker)
                continue
            if not row["requested"]:  # an earlier letter nobody asked to replay holds the rest
                blocked[key] = row["id"]
            elif await self._replay_one(conn, row["id"]):
                replayed += 1
            else:
                blocked[key] = row["id"]
        return replayed

    async def _replay_held(self, conn: asyncpg.Connection, dead_id: int, blocker: int) -> None:
        await conn.execute(
            _NOT_REPLAYED,
            dead_id,
            f"not replayed: dead letter {blocker} of an earlier version of the same aggregate is still "
            "open (replay it first, or with this one)",
        )

    async def _replay_one(self, conn: asyncpg.Connection, dead_id: int) -> bool:
        try:
            async with conn.transaction():
                row = await conn.fetchrow(_LETTER, dead_id)
                if row is None:
                    return False
                await self._replay_row(conn, row)
                await conn.execute(_REPLAYED, dead_id)
        except Exception as exc:
            await conn.execute(_NOT_REPLAYED, dead_id, repr(exc)[:4000])
            log.warning("dead letter replay failed", consumer=self.name, dead_letter=dead_id, error=repr(exc))
            return False
        self.stats.replayed += 1
        return True

    async def _replay_row(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        stored = _StoredMessage(row["subject"], row["headers"], row["payload"])
        envelope, event = decode_delivery(stored)
        delivery = Delivery(stored, envelope, event, 0)  # type: ignore[arg-type]  # never acked: no Msg needed
        if not await claim_inbox(conn, self.name, [delivery]):
            return  # applied already
        if self.consumer.ordering is Ordering.NONE:
            await dispatch(conn, self.consumer, [delivery])
            return
        last = await last_version(conn, self.name, envelope.aggregate_type, envelope.subject)
        if last is not None and envelope.aggregate_version <= last:
            return  # a newer version is applied: older state never goes over it
        await dispatch(conn, self.consumer, [delivery])
        await advance(conn, self.name, [delivery])  # a replay moves the position forward, never back


async def request_replay(pool: asyncpg.Pool, consumer: str | None = None, ids: Sequence[int] = ()) -> int:
    """Mark open dead letters for replay by their running consumer; returns how many."""
    result: str = await pool.execute(_REQUEST, consumer, list(ids))
    return int(result.split()[-1])
