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

No row blocks the others: which rows of a round are marked, parked or wait is ``settle.py``'s
rule; a parked row has ``parked_at`` and ``park_reason`` set, is counted in readiness
(``backlog.py``), listed and put back in line by ``spicadb outbox`` (``parked.py``). The check
of the stream after a restart is ``recovery.py``'s.

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
from dataclasses import dataclass
from typing import Any

import asyncpg
from nats.errors import MaxPayloadError
from nats.js.api import PubAck

from ..db import is_connection_error
from ..logs import get_logger
from .backlog import outbox_backlog
from .bus import Bus, message_size
from .recovery import recover_lost
from .settle import Failure, Outcome, failure, settle, singled_out
from .tracing import PublishSpans

__all__ = ["OutboxRelay", "RelayStats"]

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
    """Counters of one relay since it started (read by the health report)."""

    published: int = 0
    parked: int = 0
    republished: int = 0
    rounds: int = 0
    failures: int = 0
    leader: bool = False
    last_error: str | None = None


class OutboxRelay:
    """Publishes one service schema's outbox to JetStream while it holds the leader lock."""

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
        """The NOTIFY channel of the schema's outbox, also the name of its leader lock."""
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
            settled = settle(rows, await self._publish(rows), self.max_attempts)
            marked, parked, failed = settled.marked, settled.parked, settled.failed
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

    async def _publish(self, rows: list[asyncpg.Record]) -> list[Outcome]:
        """Pipeline the batch; per row its stream sequence, why it failed, or None when never sent."""
        outcomes: list[Outcome] = [None] * len(rows)
        spans = PublishSpans(rows, self.stream)  # each traced row's span, named by its traceparent
        try:
            await self._publish_all(rows, spans.headers, outcomes)
        finally:
            spans.end(outcomes)
        return outcomes

    async def _publish_all(
        self, rows: list[asyncpg.Record], headers: list[dict[str, str]], outcomes: list[Outcome]
    ) -> None:
        js = self.bus.js
        limit = self.bus.max_payload
        sent: dict[int, asyncio.Future[PubAck]] = {}
        for index, row in enumerate(rows):
            # checked here too: a server refuses a message over max_payload by closing the connection
            size = message_size(headers[index], row["payload"])
            if size > limit:
                outcomes[index] = Failure(f"too large for NATS: {size:,} bytes, max_payload {limit:,}", True)
                continue
            try:
                sent[index] = await js.publish_async(row["subject"], row["payload"], headers=headers[index])
            except MaxPayloadError as exc:
                outcomes[index] = Failure(f"too large for NATS: {exc!r}", True)
            except Exception as exc:
                outcomes[index] = Failure(repr(exc), False)
                break
        results = await self._gather(list(sent.values()))
        for index, result in zip(sent, results, strict=True):
            if isinstance(result, BaseException):
                outcomes[index] = failure(result)
            else:
                outcomes[index] = int(result.seq)
        await self._ask_again(rows, headers, outcomes)

    async def _ask_again(
        self, rows: list[asyncpg.Record], headers: list[dict[str, str]], outcomes: list[Outcome]
    ) -> None:
        """Publish once more, alone and awaited, each row that failed while a later one was acknowledged.
        nats-py's publish_async loses JetStream's refusal of one message (its reply handler raises
        instead of failing the future, nats.py 2.16), so such a row only times out; asked with a
        request, the refusal comes back as an APIError that says whether to park it."""
        for index, outcome in enumerate(outcomes):
            if not isinstance(outcome, Failure) or outcome.permanent:
                continue
            if not singled_out(outcomes, index):
                break
            row = rows[index]
            try:
                ack = await self.bus.js.publish(
                    row["subject"], row["payload"], timeout=self.ack_timeout, headers=headers[index]
                )
                outcomes[index] = int(ack.seq)
            except Exception as exc:
                outcomes[index] = failure(exc)

    async def _gather(self, futures: list[asyncio.Future[PubAck]]) -> list[PubAck | BaseException]:
        """Per future its PubAck, or why none came (a timeout once ``ack_timeout`` has passed)."""
        if not futures:
            return []
        _done, pending = await asyncio.wait(futures, timeout=self.ack_timeout)
        for future in pending:
            future.cancel()
        results: list[PubAck | BaseException] = []
        for future in futures:
            if future in pending or future.cancelled():
                results.append(TimeoutError("no PubAck in time"))
            elif (error := future.exception()) is not None:
                results.append(error)
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
        """Publish again the retained rows whose message the stream no longer holds (an unclean
        NATS restart, see recovery.py); returns how many."""
        assert self.stream is not None
        lost = await recover_lost(conn, self.bus.js, self.stream, self.batch)
        self.stats.republished += lost
        return lost

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
        return await outbox_backlog(self.pool)
