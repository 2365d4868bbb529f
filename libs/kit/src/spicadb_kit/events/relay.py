"""The outbox relay: publishes committed events to JetStream, in order, at least once.

One active relay per service schema (a session advisory lock elects it; a standby takes
over when the leader's connection dies). Each round claims unpublished rows in id order,
publishes them pipelined with ``Nats-Msg-Id`` = event id, waits for the PubAcks and marks
the acknowledged prefix published. A crash between publish and mark republishes: the
stream's duplicate window, and beyond it the consumers' inbox, absorb the copy.
It wakes on NOTIFY and polls as a fallback (NOTIFY is not stored, only a hint).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import asyncpg

from ..db import is_connection_error
from ..logs import get_logger
from .bus import Bus

log = get_logger(__name__)

_CLAIM = """
SELECT id, subject, headers, payload FROM outbox
WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""
_MARK = """
UPDATE outbox SET published_at = now(), stream_seq = u.seq, attempts = attempts + 1, last_error = NULL
FROM unnest($1::bigint[], $2::bigint[]) AS u(id, seq) WHERE outbox.id = u.id
"""
_FAILED = "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE id = ANY($1::bigint[])"
_PRUNE = "DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)"
# An inbox row must outlive every redelivery and replay of its event: keep it longer than the
# streams keep events (StreamDecl.max_age_seconds), then drop it.
_PRUNE_INBOX = "DELETE FROM inbox WHERE processed_at < now() - make_interval(secs => $1)"


@dataclass
class RelayStats:
    published: int = 0
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
    ) -> None:
        self.pool = pool
        self.bus = bus
        self.schema = schema
        self.batch = batch
        self.poll_seconds = poll_seconds
        self.retention_seconds = retention_seconds
        self.inbox_retention_seconds = inbox_retention_seconds
        self.ack_timeout = ack_timeout
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
            await conn.add_listener(self.channel, self._notified)
            try:
                await self._relay_loop(conn)
            finally:
                with contextlib.suppress(Exception):
                    await conn.remove_listener(self.channel, self._notified)
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", self.channel)

    def _notified(self, *_: object) -> None:
        self._wake.set()

    async def _relay_loop(self, conn: asyncpg.Connection) -> None:
        failures = 0
        while True:
            self._wake.clear()
            try:
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
            acked, error = await self._publish(rows)
            if acked:
                await conn.execute(_MARK, [r["id"] for r, _ in acked], [seq for _, seq in acked])
            if error is not None:
                failed = [r["id"] for r in rows[len(acked) :]]
                await conn.execute(_FAILED, failed, error[:500])
        self.stats.published += len(acked)
        if error is not None:
            raise RuntimeError(f"{len(rows) - len(acked)} events not acknowledged: {error}")
        return len(acked)

    async def _publish(
        self, rows: list[asyncpg.Record]
    ) -> tuple[list[tuple[asyncpg.Record, int]], str | None]:
        """Pipeline the batch; return the acknowledged prefix (order must hold) and the first error."""
        js = self.bus.js
        futures = []
        error: str | None = None
        try:
            for row in rows:
                futures.append(await js.publish_async(row["subject"], row["payload"], headers=row["headers"]))
        except Exception as exc:
            error = repr(exc)
        results = await self._gather(futures)
        acked: list[tuple[asyncpg.Record, int]] = []
        for row, result in zip(rows, results, strict=False):
            if isinstance(result, BaseException):
                error = error or repr(result)
                break
            acked.append((row, int(result.seq)))  # type: ignore[attr-defined]
        return acked, error

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

    async def _prune(self, conn: asyncpg.Connection, *, force: bool = False) -> None:
        """Housekeeping of the schema's event tables, by the relay leader (one writer, every 30 s)."""
        now = time.monotonic()
        if now - self._last_prune < 30 and not force:
            return
        self._last_prune = now
        # published rows stay a while so they can be replayed after an unclean NATS restart
        await conn.execute(_PRUNE, self.retention_seconds)
        await conn.execute(_PRUNE_INBOX, self.inbox_retention_seconds)

    async def backlog(self) -> dict[str, object]:
        row = await self.pool.fetchrow(
            "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL"
        )
        assert row is not None
        return {"unpublished": row["n"], "oldest": row["oldest"].isoformat() if row["oldest"] else None}
