"""The consumer runner: a durable pull consumer whose effects happen exactly once.

Each fetched batch is applied in one PostgreSQL transaction together with its inbox rows
(keyed by event id), and acknowledged only after commit: a redelivered event finds its
inbox row and has no second effect. When a handler fails the batch is replayed one event
per transaction so that only the failing event is retried (NAK with backoff) and, after
``max_deliver`` attempts, parked in ``dead_letter`` with its error until someone asks for a
replay. Events of one aggregate are applied as the consumer's ordering says (``spec.Ordering``):
strictly in version order (an event that arrives before its predecessor waits, NAK with delay,
counted from when this consumer first saw it), newest version wins (a consumer of a subset of an
aggregate's events: newer versions applied across gaps, older ones skipped), or in no order.
Dead letters are replayed in aggregate order, and an aggregate stops at its first failure.

A watchdog re-creates the pull subscription after a reconnect, when a fetch hangs, or when
the server holds pending messages that never arrive (nats.py #504, #933, #986).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import asyncpg
import msgspec
from nats.aio.msg import Msg
from opentelemetry import trace

from spicadb_contracts import Event, event_class, registered_events

from ..db import is_connection_error, transaction
from ..logs import get_logger
from ..spec import ConsumerDecl, Ordering
from ..telemetry import context_from_headers, tracer
from .bus import Bus
from .envelope import Envelope

log = get_logger(__name__)
_tracer = tracer(__name__)

Handler = Callable[[asyncpg.Connection, Envelope, Any], Awaitable[None]]
# a handler of many events of one type at once (one INSERT for the lot): what keeps a consumer fast
BatchHandler = Callable[[asyncpg.Connection, list[tuple[Envelope, Any]]], Awaitable[None]]
H = TypeVar("H", bound=Handler)
B = TypeVar("B", bound=BatchHandler)

_INBOX = """
INSERT INTO inbox (consumer, event_id, event_type)
SELECT $1, u.id, u.t FROM unnest($2::uuid[], $3::text[]) AS u(id, t)
ON CONFLICT DO NOTHING RETURNING event_id
"""
# One primary-key lookup per aggregate (LATERAL ... OFFSET 0 keeps the planner from turning this into
# a scan of every position when statistics call the consumer rare, e.g. a new consumer backfilling).
_POSITIONS = """
SELECT u.t, u.i, p.last_version FROM unnest($2::text[], $3::text[]) AS u(t, i)
CROSS JOIN LATERAL (
    SELECT last_version FROM consumer_position p
    WHERE p.consumer = $1 AND p.aggregate_type = u.t AND p.aggregate_id = u.i OFFSET 0
) AS p
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


def _subject_matches(pattern: str, subject: str) -> bool:
    """NATS subject matching: ``*`` one token, ``>`` one or more trailing tokens."""
    tokens, wanted = subject.split("."), pattern.split(".")
    for k, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > k
        if k >= len(tokens) or token not in ("*", tokens[k]):
            return False
    return len(wanted) == len(tokens)


def left_out_events(decl: ConsumerDecl) -> list[str]:
    """The event types (``name.vN``) of the aggregates a consumer receives that its filter leaves out:
    they share the aggregates' version counters, so a strictly ordered consumer would wait for them
    for ever. Empty for a consumer that is not strictly ordered."""
    if decl.ordering is not Ordering.STRICT:
        return []
    events = list(registered_events())
    taken = {e for e in events if any(_subject_matches(f, e.subject()) for f in decl.filter_subjects)}
    aggregates = {(e.producer, e.aggregate) for e in taken}
    return sorted(
        f"{e.event_name}.v{e.event_version}"
        for e in events
        if (e.producer, e.aggregate) in aggregates and e not in taken
    )


class EventConsumer:
    """A consumer's declaration and its handlers, one per event type it understands."""

    def __init__(self, decl: ConsumerDecl) -> None:
        left_out = left_out_events(decl)
        if left_out:  # refused at startup rather than found stuck 300 s after the first gap
            raise ValueError(
                f"consumer {decl.durable} is strictly ordered but its filter leaves out "
                f"{', '.join(left_out)}, which share the version counters of the aggregates it "
                "receives: take those events too, or declare ordering=Ordering.LATEST (newest "
                "version wins) or Ordering.NONE"
            )
        self.decl = decl
        self.handlers: dict[str, Handler] = {}
        self.batch_handlers: dict[str, BatchHandler] = {}

    @property
    def name(self) -> str:
        return str(self.decl.durable)

    @property
    def ordering(self) -> Ordering:
        return self.decl.ordering

    def on(self, event_type: type[Event]) -> Callable[[H], H]:
        """Register ``handler(conn, envelope, event)`` for one event type (and version)."""

        def register(handler: H) -> H:
            self.handlers[event_type.event_type()] = handler
            return handler

        return register

    def on_batch(self, event_type: type[Event]) -> Callable[[B], B]:
        """Register ``handler(conn, [(envelope, event), ...])`` for runs of consecutive events of one
        type in a fetched batch (in stream order, all in the batch's transaction)."""

        def register(handler: B) -> B:
            self.batch_handlers[event_type.event_type()] = handler
            return handler

        return register


@dataclass
class Delivery:
    msg: Msg
    envelope: Envelope
    event: Any
    deliveries: int

    @property
    def aggregate(self) -> tuple[str, str]:
        return (self.envelope.aggregate_type, self.envelope.subject)


@dataclass
class Sorted:
    """A batch split by the ordering rule."""

    ready: list[Delivery] = field(default_factory=list)
    stale: list[Delivery] = field(default_factory=list)  # already applied (older version)
    early: list[Delivery] = field(default_factory=list)  # a predecessor is still missing


@dataclass
class ConsumerStats:
    applied: int = 0
    duplicates: int = 0
    naks: int = 0
    dead_lettered: int = 0
    replayed: int = 0
    resubscribes: int = 0
    last_batch_at: float | None = None
    last_error: str | None = None


class GapError(RuntimeError):
    """An event arrived while an earlier version of its aggregate is still missing."""


def decode_delivery(msg: Msg) -> tuple[Envelope, Any]:
    envelope = Envelope.from_headers(msg.headers)
    try:
        payload_type: type[Any] = event_class(envelope.type)
    except KeyError:
        payload_type = msgspec.Raw  # an event this build does not know: keep it opaque
    return envelope, msgspec.json.decode(msg.data, type=payload_type)


class ConsumerRunner:
    def __init__(
        self,
        consumer: EventConsumer,
        pool: asyncpg.Pool,
        bus: Bus,
        *,
        batch: int = 200,
        fetch_timeout: float = 1.0,
        stall_check_seconds: float = 10.0,
    ) -> None:
        self.consumer = consumer
        self.decl = consumer.decl
        self.pool = pool
        self.bus = bus
        self.batch = batch
        self.fetch_timeout = fetch_timeout
        self.stall_check_seconds = stall_check_seconds
        self.stats = ConsumerStats()
        self._resubscribe = False
        bus.on_reconnect(self.request_resubscribe)

    @property
    def name(self) -> str:
        return str(self.decl.durable)

    def request_resubscribe(self) -> None:
        self._resubscribe = True

    # --- the loop -------------------------------------------------------------------

    async def run(self) -> None:
        delay = 0.2
        while True:
            try:
                sub = await self.bus.js.pull_subscribe_bind(
                    durable=self.decl.durable, stream=self.decl.stream
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.last_error = repr(exc)
                log.warning("consumer cannot bind", consumer=self.name, error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = 0.2
            try:
                await self._fetch_loop(sub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.last_error = repr(exc)
                log.warning("consumer loop restarted", consumer=self.name, error=repr(exc))
                await asyncio.sleep(0.5)
            finally:
                self.stats.resubscribes += 1
                try:
                    await sub.unsubscribe()
                except Exception as exc:  # the subscription may already be gone with its connection
                    log.debug("unsubscribe failed", error=repr(exc))

    async def _fetch_loop(self, sub: Any) -> None:
        self._resubscribe = False
        idle_since = time.monotonic()
        while not self._resubscribe:
            timer = asyncio.timeout(self.fetch_timeout + 5)  # not wait_for: see relay.py
            try:
                async with timer:
                    msgs = await sub.fetch(self.batch, timeout=self.fetch_timeout)
            except TimeoutError:  # nats' own, or a plain one fetch raises when its deadline ran out
                if timer.expired():
                    log.warning("fetch hung; re-creating the pull subscription", consumer=self.name)
                    return
                msgs = []
            if msgs:
                await self.process(msgs)
                idle_since = time.monotonic()
                continue
            await self.replay_requested()
            if time.monotonic() - idle_since > self.stall_check_seconds:
                idle_since = time.monotonic()
                if await self._server_has_pending():
                    log.warning(
                        "idle while the server holds pending events; re-subscribing", consumer=self.name
                    )
                    return

    async def _server_has_pending(self) -> bool:
        try:
            info = await self.bus.js.consumer_info(self.decl.stream, self.decl.durable, timeout=2)
        except Exception:
            return False
        return bool(info.num_pending) and not info.num_ack_pending

    # --- applying a batch -----------------------------------------------------------

    async def process(self, msgs: Sequence[Msg]) -> None:
        self.stats.last_batch_at = time.time()
        deliveries: list[Delivery] = []
        for msg in msgs:
            try:
                envelope, event = decode_delivery(msg)
            except Exception as exc:
                await self._dead_letter_raw(msg, f"undecodable: {exc}")
                continue
            deliveries.append(Delivery(msg, envelope, event, msg.metadata.num_delivered or 1))
        if not deliveries:
            return
        try:
            async with transaction(self.pool) as conn:
                split = await self._apply(conn, deliveries)
        except Exception as exc:
            if is_connection_error(exc):
                await self._nak_all(deliveries, delay=1.0)
                return
            await self._isolate(deliveries)  # a handler failed: find which, one per transaction
            return
        for delivery in split.ready + split.stale:
            await delivery.msg.ack()
        await self._handle_early(split.early)

    async def _apply(self, conn: asyncpg.Connection, deliveries: list[Delivery]) -> Sorted:
        split = await self._sort(conn, deliveries)
        if not split.ready:
            return split
        fresh = {
            r["event_id"]
            for r in await conn.fetch(
                _INBOX,
                self.name,
                [d.envelope.id for d in split.ready],
                [d.envelope.type for d in split.ready],
            )
        }
        self.stats.duplicates += len(split.ready) - len(fresh)
        await self._dispatch(conn, [d for d in split.ready if d.envelope.id in fresh])
        if self.consumer.ordering is not Ordering.NONE:
            await self._advance(conn, split.ready + split.stale)
        self.stats.applied += len(fresh)
        return split

    async def _dispatch(self, conn: asyncpg.Connection, deliveries: list[Delivery]) -> None:
        """Apply in stream order: runs of one batch-handled type together, the others one by one."""
        batched = self.consumer.batch_handlers
        start = 0
        while start < len(deliveries):
            event_type = deliveries[start].envelope.type
            end = start + 1
            if event_type in batched:
                while end < len(deliveries) and deliveries[end].envelope.type == event_type:
                    end += 1
                await self._handle_batch(conn, batched[event_type], deliveries[start:end])
            else:
                await self._handle(conn, deliveries[start])
            start = end

    async def _handle_batch(
        self, conn: asyncpg.Connection, handler: BatchHandler, run: list[Delivery]
    ) -> None:
        first = run[0]
        links = [
            trace.Link(trace.get_current_span(context_from_headers(d.msg.headers)).get_span_context())
            for d in run[1:]
        ]
        with _tracer.start_as_current_span(
            f"consume {first.envelope.type}",
            context=context_from_headers(first.msg.headers),
            kind=trace.SpanKind.CONSUMER,
            links=links,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer": self.name,
                "messaging.batch.message_count": len(run),
            },
        ):
            await handler(conn, [(d.envelope, d.event) for d in run])

    async def _handle(self, conn: asyncpg.Connection, delivery: Delivery) -> None:
        envelope = delivery.envelope
        handler = self.consumer.handlers.get(envelope.type)
        with _tracer.start_as_current_span(
            f"consume {envelope.type}",
            context=context_from_headers(delivery.msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.system": "nats",
                "messaging.consumer": self.name,
                "event.id": str(envelope.id),
            },
        ):
            if handler is not None:  # an event type without handler is acknowledged, with no effect
                await handler(conn, envelope, delivery.event)

    async def _sort(self, conn: asyncpg.Connection, deliveries: list[Delivery]) -> Sorted:
        if self.consumer.ordering is Ordering.NONE:
            return Sorted(ready=list(deliveries))
        latest = self.consumer.ordering is Ordering.LATEST
        keys = sorted({d.aggregate for d in deliveries})
        rows = await conn.fetch(_POSITIONS, self.name, [k[0] for k in keys], [k[1] for k in keys])
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

    async def _advance(self, conn: asyncpg.Connection, settled: list[Delivery]) -> None:
        last: dict[tuple[str, str], int] = {}
        for d in settled:
            last[d.aggregate] = max(last.get(d.aggregate, 0), d.envelope.aggregate_version)
        keys = sorted(last)
        await conn.execute(
            _ADVANCE,
            self.name,
            [k[0] for k in keys],
            [k[1] for k in keys],
            [last[k] for k in keys],
            [d.envelope.id for d in settled],
        )

    async def _isolate(self, deliveries: list[Delivery]) -> None:
        for delivery in deliveries:
            try:
                async with transaction(self.pool) as conn:
                    split = await self._apply(conn, [delivery])
            except Exception as exc:
                await self._failed(delivery, exc)
                continue
            if split.early:
                await self._handle_early(split.early)
            else:
                await delivery.msg.ack()

    async def _failed(self, delivery: Delivery, exc: Exception) -> None:
        self.stats.last_error = repr(exc)
        if is_connection_error(exc):
            await self._nak(delivery, 1.0)
        elif delivery.deliveries >= self.decl.max_deliver:
            await self._dead_letter(delivery, repr(exc))
        else:
            log.warning(
                "event failed; will retry",
                consumer=self.name,
                event_id=str(delivery.envelope.id),
                type=delivery.envelope.type,
                deliveries=delivery.deliveries,
                error=repr(exc),
            )
            await self._nak(delivery, self._backoff(delivery.deliveries))

    async def _handle_early(self, early: list[Delivery]) -> None:
        if not early:
            return
        try:
            waits = await self._sighted(early)
        except Exception as exc:  # the database is away: wait without counting
            log.warning("cannot record early events", consumer=self.name, error=repr(exc))
            await self._nak_all(early, delay=1.0)
            return
        for delivery in early:
            waited = waits.get(delivery.envelope.id, 0.0)
            if waited > self.decl.gap_patience_seconds:
                error = GapError(
                    f"{delivery.envelope.aggregate_type} {delivery.envelope.subject}: version "
                    f"{delivery.envelope.aggregate_version} waited {waited:.0f}s for its predecessor"
                )
                await self._dead_letter(delivery, repr(error))
            else:
                await self._nak(delivery, min(self._backoff(delivery.deliveries), 5.0))

    async def _sighted(self, early: list[Delivery]) -> dict[Any, float]:
        """Seconds each early event has waited since this consumer first saw it."""
        rows = await self.pool.fetch(
            _SIGHTED,
            self.name,
            [d.envelope.id for d in early],
            [d.envelope.aggregate_type for d in early],
            [d.envelope.subject for d in early],
            [d.envelope.aggregate_version for d in early],
        )
        return {r["event_id"]: r["waited"] for r in rows}

    def _backoff(self, deliveries: int) -> float:
        steps = self.decl.backoff_seconds or (1.0,)
        return steps[min(deliveries, len(steps)) - 1]

    async def _nak(self, delivery: Delivery, delay: float) -> None:
        self.stats.naks += 1
        try:
            await delivery.msg.nak(delay=delay)
        except Exception as exc:  # lost with the connection: AckWait brings it back anyway
            log.debug("nak failed", error=repr(exc))

    async def _nak_all(self, deliveries: list[Delivery], delay: float) -> None:
        for delivery in deliveries:
            await self._nak(delivery, delay)

    # --- dead letters ---------------------------------------------------------------

    async def _dead_letter(self, delivery: Delivery, error: str) -> None:
        envelope = delivery.envelope
        await self._store_dead(delivery.msg, error, envelope.id, envelope.type, delivery.deliveries)
        log.error(
            "event dead-lettered",
            consumer=self.name,
            event_id=str(envelope.id),
            type=envelope.type,
            deliveries=delivery.deliveries,
            error=error,
        )

    async def _dead_letter_raw(self, msg: Msg, error: str) -> None:
        await self._store_dead(
            msg, error, None, (msg.headers or {}).get("ce-type"), msg.metadata.num_delivered or 1
        )
        log.error("undecodable event dead-lettered", consumer=self.name, subject=msg.subject, error=error)

    async def _store_dead(self, msg: Msg, error: str, event_id: Any, event_type: str | None, n: int) -> None:
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
        except Exception as exc:
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
            "UPDATE dead_letter SET replay_requested_at = NULL, replay_error = $2 WHERE id = $1",
            dead_id,
            f"not replayed: dead letter {blocker} of an earlier version of the same aggregate is still "
            "open (replay it first, or with this one)",
        )

    async def _replay_one(self, conn: asyncpg.Connection, dead_id: int) -> bool:
        try:
            async with conn.transaction():
                row = await conn.fetchrow(
                    "SELECT headers, payload, subject FROM dead_letter WHERE id = $1 AND replayed_at IS NULL"
                    " FOR UPDATE",
                    dead_id,
                )
                if row is None:
                    return False
                await self._replay_row(conn, row)
                await conn.execute(
                    "UPDATE dead_letter SET replayed_at = now(), replay_error = NULL WHERE id = $1", dead_id
                )
        except Exception as exc:
            await conn.execute(
                "UPDATE dead_letter SET replay_requested_at = NULL, replay_error = $2 WHERE id = $1",
                dead_id,
                repr(exc)[:4000],
            )
            log.warning("dead letter replay failed", consumer=self.name, dead_letter=dead_id, error=repr(exc))
            return False
        self.stats.replayed += 1
        return True

    async def _replay_row(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        fake = _StoredMessage(row["subject"], row["headers"], row["payload"])
        envelope, event = decode_delivery(fake)  # type: ignore[arg-type]
        delivery = Delivery(fake, envelope, event, 0)  # type: ignore[arg-type]
        fresh = await conn.fetch(_INBOX, self.name, [envelope.id], [envelope.type])
        if not fresh:
            return  # applied already
        if self.consumer.ordering is Ordering.NONE:
            await self._dispatch(conn, [delivery])
            return
        last = await conn.fetchval(
            "SELECT last_version FROM consumer_position WHERE consumer = $1 AND aggregate_type = $2"
            " AND aggregate_id = $3",
            self.name,
            envelope.aggregate_type,
            envelope.subject,
        )
        if last is not None and envelope.aggregate_version <= last:
            return  # a newer version is applied: older state never goes over it
        await self._dispatch(conn, [delivery])
        await self._advance(conn, [delivery])  # a replay moves the position forward, never back

    # --- observation ----------------------------------------------------------------

    async def lag(self) -> dict[str, Any]:
        info = await self.bus.js.consumer_info(self.decl.stream, self.decl.durable, timeout=2)
        return {
            "pending": info.num_pending,
            "ack_pending": info.num_ack_pending,
            "redelivered": info.num_redelivered,
        }

    async def waiting(self) -> dict[str, Any]:
        """Early events waiting for a missing predecessor (every replica's), and the oldest wait."""
        row = await self.pool.fetchrow(_WAITING, self.name)
        return {"waiting": row["waiting"], "oldest_wait_seconds": round(row["oldest"], 1)}


@dataclass
class _StoredMessage:
    """The parts of a NATS message a dead letter keeps, enough to decode it again."""

    subject: str
    headers: dict[str, str]
    data: bytes


async def request_replay(pool: asyncpg.Pool, consumer: str | None = None, ids: Sequence[int] = ()) -> int:
    """Mark open dead letters for replay by their running consumer; returns how many."""
    result = await pool.execute(
        "UPDATE dead_letter SET replay_requested_at = now(), replay_error = NULL"
        " WHERE replayed_at IS NULL AND ($1::text IS NULL OR consumer = $1)"
        " AND (cardinality($2::bigint[]) = 0 OR id = ANY($2::bigint[]))",
        consumer,
        list(ids),
    )
    return int(result.split()[-1])
