"""The outbox relay: publishes committed events to JetStream, in order, at least once.

One active relay per service schema (a session advisory lock elects it; a standby takes
over when the leader's connection dies). Each round claims unpublished rows in id order,
publishes them pipelined with ``Nats-Msg-Id`` = event id, waits for the PubAcks and marks
the acknowledged prefix published. A crash between publish and mark republishes: the
stream's duplicate window, and beyond it the consumers' inbox, absorb the copy.
It wakes on NOTIFY and polls as a fallback (NOTIFY is not stored, only a hint). When it
starts leading and after each reconnection it checks that the stream still holds the rows it
marked published (sequence and Nats-Msg-Id) and publishes again those an unclean NATS restart
lost; published rows are kept ``retention_seconds`` for that.

No row blocks the others. A row NATS can never take as it is (larger than the server's
max_payload, refused by JetStream with a 400) is parked at once: ``parked_at`` and
``park_reason`` set, counted in readiness, listed and put back in line by ``spicadb outbox``.
A row that fails while rows after it in the same round are acknowledged (so NATS works and
the row is the problem) is parked after ``max_attempts`` such rounds. A failure of NATS itself
(not connected, timeouts, no stream) parks nothing: every row waits, and readiness reports the
oldest one once it is older than ``SPICADB_RELAY_STUCK_SECONDS``.

Per-aggregate order: the rows after a parked one, of its aggregate too, are published (holding
them back would let one bad event stop an aggregate for ever). Consumers of that aggregate see a
gap in its versions: an ordered consumer waits for the missing version and then dead-letters what
follows (replayable once the parked event is retried or discarded), a consumer that allows gaps
applies the newest version. A retried event arrives late, out of order, and is treated the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.errors import MaxPayloadError
from nats.js.errors import APIError, NotFoundError

from ..db import is_connection_error
from ..logs import get_logger
from .bus import Bus, message_size
from .envelope import MSG_ID_HEADER

log = get_logger(__name__)

_CLAIM = """
SELECT id, event_type, aggregate_id, aggregate_version, subject, headers, payload, attempts FROM outbox
WHERE published_at IS NULL AND parked_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
_MARK = """
UPDATE outbox SET published_at = now(), stream_seq = u.seq, attempts = attempts + 1, last_error = NULL
FROM unnest($1::bigint[], $2::bigint[]) AS u(id, seq) WHERE outbox.id = u.id
"""
_FAILED = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1"
_ANY_PUBLISHED = (
    "SELECT EXISTS (SELECT 1 FROM outbox WHERE published_at IS NOT NULL AND stream_seq IS NOT NULL)"
)
_PUBLISHED_AFTER = (
    "SELECT id, event_id, stream_seq FROM outbox WHERE published_at IS NOT NULL AND stream_seq > $1"
)
_REQUEUE = "UPDATE outbox SET published_at = NULL, stream_seq = NULL WHERE id = ANY($1::bigint[])"
_PARK = """
UPDATE outbox SET parked_at = now(), park_reason = u.reason, last_error = u.reason, attempts = attempts + 1
FROM unnest($1::bigint[], $2::text[]) AS u(id, reason) WHERE outbox.id = u.id
"""
_PRUNE = "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)"
# An inbox row must outlive every redelivery and replay of its event: keep it longer than the
# streams keep events (StreamDecl.max_age_seconds), then drop it.
_PRUNE_INBOX = "DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)"


@dataclass
class RelayStats:
    published: int = 0
    parked: int = 0
    republished: int = 0
    rounds: int = 0
    failures: int = 0
    leader: bool = False
    last_error: str | None = None


class OutboxRelay:
    def __init__(
        self,
        pool: asyncpg.Pool,
        bus: Bus,
        *,
        schema: str,
        batch: int = 500,
        poll_seconds: float = 1.0,
        retention_seconds: float = 600.0,
        inbox_retention_seconds: float = 35 * 24 * 3600,
        ack_timeout: float = 10.0,
        max_attempts: int = 10,
        stream: str | None = None,
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.schema = schema
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.retention_seconds = retention_seconds
        self.inbox_retention_seconds = inbox_retention_seconds
        self.ack_timeout = ack_timeout
        self.max_attempts = max_attempts
        # the stream the rows go to: checked for lost messages when the relay leads and after a reconnection
        self.stream = stream
        self._verify = False
        bus.on_reconnect(self._reconnected)
        self.stats = RelayStats()
        self._wake = asyncio.Event()
        self._last_prune = 0.0

    @property
    def channel(self) -> str:
        return f"{self.schema}_outbox"

    async def run(self) -> None:
        """Until cancelled: hold the leader lock on a dedicated connection and relay."""
        delay = 0.2
        while True:
            try:
                await self._lead()
                delay = 0.2
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.stats.leader = False
                self.stats.last_error = repr(exc)
                log.warning("outbox relay interrupted", error=repr(exc))
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _lead(self) -> None:
        async with self.pool.acquire() as conn:
            while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", self.channel):
                self.stats.leader = False
                await asyncio.sleep(self.poll_seconds * 2)
            self.stats.leader = True
            self._verify = self.stream is not None  # a previous leader may not have checked
            await conn.add_listener(self.channel, self._notified)
            try:
                await self._relay_loop(conn)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.channel, self._notified)
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self.channel)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    def _reconnected(self) -> None:
        self._verify = self.stream is not None
        self._wake.set()

    async def _relay_loop(self, conn: asyncpg.Connection) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
                if self._verify:
                    await self._verify_stream(conn)
                sent = await self.publish_round(conn)
                failures = 0
            except Exception as exc:
                if is_connection_error(exc) or conn.is_closed():
                    raise  # the lock went with the connection: elect again
                failures += 1
                self.stats.failures += 1
                self.stats.last_error = repr(exc)
                log.warning("outbox publish failed", error=repr(exc), failures=failures)
                await asyncio.sleep(min(0.1 * 2**failures, 5.0))
                continue
            await self._prune(conn)
            if sent < self.batch:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation that
                # races with the wake-up (a NOTIFY at shutdown), and the relay would never stop
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.poll_seconds):
                        await self._wake.wait()

    async def publish_round(self, conn: asyncpg.Connection) -> int:
        """Publish one batch; returns how many rows were marked published."""
        self.stats.rounds += 1
        async with conn.transaction():
            rows = await conn.fetch(_CLAIM, self.batch)
            if not rows:
                return 0
            marked, parked, failed = self._settle(rows, await self._publish(rows))
            if marked:
                await conn.execute(_MARK, [i for i, _ in marked], [seq for _, seq in marked])
            if parked:
                await conn.execute(_PARK, [r["id"] for r, _ in parked], [why[:500] for _, why in parked])
            if failed is not None:
                await conn.execute(_FAILED, failed[0]["id"], failed[1][:500])
        self.stats.published += len(marked)
        self.stats.parked += len(parked)
        for row, why in parked:
            log.error(
                "outbox event parked: it cannot be published, the events after it go on",
                outbox_id=row["id"],
                event_type=row["event_type"],
                aggregate_id=row["aggregate_id"],
                aggregate_version=row["aggregate_version"],
                reason=why,
            )
        if failed is not None:
            raise RuntimeError(
                f"{len(rows) - len(marked) - len(parked)} events not acknowledged: {failed[1]}"
            )
        return len(marked)

    def _settle(
        self, rows: list[asyncpg.Record], outcomes: list[int | _Failure | None]
    ) -> tuple[list[tuple[int, int]], list[tuple[asyncpg.Record, str]], tuple[asyncpg.Record, str] | None]:
        """(rows to mark published with their stream sequence, rows to park, the row that holds the
        rest back). Acknowledged rows are marked up to the first failure that is not parked: what
        follows it is published again next round (deduplicated by Nats-Msg-Id), so the stream keeps
        the outbox's order whenever NATS is the one failing."""
        marked: list[tuple[int, int]] = []
        parked: list[tuple[asyncpg.Record, str]] = []
        for index, (row, outcome) in enumerate(zip(rows, outcomes, strict=True)):
            if isinstance(outcome, int):
                marked.append((row["id"], outcome))
                continue
            if outcome is None:  # never sent (the connection failed before): it waits with what follows
                break
            # later rows acknowledged: NATS works and this row is the problem
            singled_out = any(isinstance(later, int) for later in outcomes[index + 1 :])
            if outcome.permanent or (singled_out and row["attempts"] + 1 >= self.max_attempts):
                parked.append((row, outcome.error))
                continue
            return marked, parked, (row, outcome.error)
        return marked, parked, None

    async def _publish(self, rows: list[asyncpg.Record]) -> list[int | _Failure | None]:
        """Pipeline the batch; per row its stream sequence, why it failed, or None when never sent."""
        js = self.bus.js
        limit = self.bus.max_payload
        sent: dict[int, asyncio.Future] = {}  # type: ignore[type-arg]
        outcomes: list[int | _Failure | None] = [None] * len(rows)
        for index, row in enumerate(rows):
            # checked here too: a server refuses a message over max_payload by closing the connection
            size = message_size(row["headers"], row["payload"])
            if size > limit:
                outcomes[index] = _Failure(f"too large for NATS: {size:,} bytes, max_payload {limit:,}", True)
                continue
            try:
                sent[index] = await js.publish_async(row["subject"], row["payload"], headers=row["headers"])
            except MaxPayloadError as exc:
                outcomes[index] = _Failure(f"too large for NATS: {exc!r}", True)
            except Exception as exc:
                outcomes[index] = _Failure(repr(exc), False)
                break
        results = await self._gather(list(sent.values()))
        for index, result in zip(sent, results, strict=True):
            if isinstance(result, BaseException):
                outcomes[index] = _failure(result)
            else:
                outcomes[index] = int(result.seq)  # type: ignore[attr-defined]
        await self._ask_again(rows, outcomes)
        return outcomes

    async def _ask_again(self, rows: list[asyncpg.Record], outcomes: list[int | _Failure | None]) -> None:
        """Publish once more, alone and awaited, each row that failed while a later one was acknowledged.
        nats-py's publish_async loses JetStream's refusal of one message (its reply handler raises
        instead of failing the future, nats.py 2.16), so such a row only times out; asked with a
        request, the refusal comes back as an APIError that says whether to park it."""
        for index, outcome in enumerate(outcomes):
            if not isinstance(outcome, _Failure) or outcome.permanent:
                continue
            if not any(isinstance(later, int) for later in outcomes[index + 1 :]):
                break
            row = rows[index]
            try:
                ack = await self.bus.js.publish(
                    row["subject"], row["payload"], timeout=self.ack_timeout, headers=row["headers"]
                )
                outcomes[index] = int(ack.seq)
            except Exception as exc:
                outcomes[index] = _failure(exc)

    async def _gather(self, futures: list[asyncio.Future]) -> list[object]:  # type: ignore[type-arg]
        if not futures:
            return []
        _done, pending = await asyncio.wait(futures, timeout=self.ack_timeout)
        for future in pending:
            future.cancel()
        results: list[object] = []
        for future in futures:
            if future in pending or future.cancelled():
                results.append(TimeoutError("no PubAck in time"))
            elif future.exception() is not None:
                results.append(future.exception())
            else:
                results.append(future.result())
        return results

    async def _verify_stream(self, conn: asyncpg.Connection) -> None:
        self._verify = False  # a reconnection during the check asks for another
        try:
            await self.recover_lost(conn)
        except BaseException:
            self._verify = True
            raise

    async def recover_lost(self, conn: asyncpg.Connection) -> int:
        """Publish again the retained rows whose message the stream no longer holds: a single NATS
        server that crashed with the OS (or lost power) comes back without the messages of its last
        sync_interval, PubAcks and all. Each published row is looked up by its stream sequence and
        its Nats-Msg-Id: missing, or that sequence now holds another message (published since the
        restart), and the row goes back in line, to be published again in id order. Returns how many.

        Only a relay publishes to its stream, and it checks before publishing after a reconnection,
        so at most the round in flight at the reconnection (one batch) took sequences of lost
        messages: rows beyond the stream's last sequence are lost, those of the two batches below it
        are looked up one by one, older ones are intact."""
        assert self.stream is not None
        if not await conn.fetchval(_ANY_PUBLISHED):
            return 0
        state = (await self.bus.js.stream_info(self.stream)).state
        rows = await conn.fetch(_PUBLISHED_AFTER, state.last_seq - 2 * self.batch)
        lost = [row["id"] for row in rows if await self._missing(row, state.first_seq, state.last_seq)]
        if lost:
            await conn.execute(_REQUEUE, lost)
            log.warning(
                "stream lost acknowledged events (unclean NATS restart?): publishing them again",
                stream=self.stream,
                events=len(lost),
                last_seq=state.last_seq,
            )
        self.stats.republished += len(lost)
        return len(lost)

    async def _missing(self, row: asyncpg.Record, first_seq: int, last_seq: int) -> bool:
        seq = row["stream_seq"]
        if seq > last_seq:
            return True
        if seq < first_seq:  # purged or aged out on purpose: not a loss
            return False
        try:
            message = await self.bus.js.get_msg(self.stream, seq)  # type: ignore[arg-type]
        except NotFoundError:
            return True
        return (message.headers or {}).get(MSG_ID_HEADER) != str(row["event_id"])

    async def _prune(self, conn: asyncpg.Connection, *, force: bool = False) -> None:
        """Housekeeping of the schema's event tables, by the relay leader (one writer, every 30 s)."""
        now = time.monotonic()
        if now - self._last_prune < 30 and not force:
            return
        self._last_prune = now
        # Published rows stay retention_seconds (600 s: longer than NATS' default sync_interval of
        # 2 minutes) so recover_lost can publish again what an unclean NATS restart lost.
        await conn.execute(_PRUNE, self.retention_seconds)
        await conn.execute(_PRUNE_INBOX, self.inbox_retention_seconds)

    async def backlog(self) -> dict[str, Any]:
        """Rows waiting for the relay and parked rows, with the oldest of each (for readiness)."""
        counts = await self.pool.fetchrow(_BACKLOG)
        oldest = await self.pool.fetchrow(_OLDEST)
        parked = await self.pool.fetchrow(_FIRST_PARKED)
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


@dataclass(frozen=True)
class _Failure:
    error: str
    permanent: bool  # the message can never be published as it is: park it now


def _failure(exc: BaseException) -> _Failure:
    why = str(exc) if isinstance(exc, APIError) else repr(exc)  # APIError's str has the description
    return _Failure(why, _refused_for_good(exc))


def _refused_for_good(exc: BaseException) -> bool:
    """JetStream refused this message itself (size over the stream's max_msg_size, a header it
    rejects: a 400); a 503 or a timeout says nothing about the message."""
    return isinstance(exc, APIError) and (exc.code == 400 or exc.err_code == 10054)


def _describe(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "event_type": row["event_type"],
        "aggregate_id": row["aggregate_id"],
        "aggregate_version": row["aggregate_version"],
    }


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


# --- operators: `spicadb outbox list|retry|discard` ---------------------------------------------


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
