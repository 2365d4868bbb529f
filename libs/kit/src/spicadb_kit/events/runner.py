"""The consumer runner: a durable pull consumer whose effects happen exactly once.

Each fetched batch is applied in one PostgreSQL transaction together with its inbox rows
(keyed by event id, ``dispatch.py``), and acknowledged only after commit: a redelivered event
finds its inbox row and has no second effect. Events of one aggregate are applied as the
consumer's ordering says (``ordering.py``). When a handler fails the batch is replayed one event
per transaction so that only the failing event is retried (NAK with backoff) and, after
``max_deliver`` attempts, parked in ``dead_letter`` (``deadletters.py``) with its error until
someone asks for a replay, which the runner applies between fetches.

A watchdog re-creates the pull subscription after a reconnect, when a fetch hangs, or when
the server holds pending messages that never arrive (nats.py #504, #933, #986).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
from nats.aio.msg import Msg

from ..db import is_connection_error, transaction
from ..logs import get_logger
from ..spec import Ordering
from . import ordering
from .bus import Bus
from .deadletters import DeadLetters
from .delivery import ConsumerStats, Delivery, decode_delivery
from .dispatch import claim_inbox, dispatch
from .ordering import Sorted
from .registry import EventConsumer

__all__ = ["ConsumerRunner"]

log = get_logger(__name__)


class ConsumerRunner:
    """Runs one :class:`EventConsumer` against its durable consumer, for the life of the app."""

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
        self.dead_letters = DeadLetters(consumer, pool, self.stats)
        self._resubscribe = False
        bus.on_reconnect(self.request_resubscribe)

    @property
    def name(self) -> str:
        """The durable consumer's name."""
        return str(self.decl.durable)

    def request_resubscribe(self) -> None:
        """Have the fetch loop re-create its pull subscription (called on every reconnect)."""
        self._resubscribe = True

    # --- the loop and its watchdog -----------------------------------------------------

    async def run(self) -> None:
        """Bind, fetch and apply until cancelled, re-binding whenever the watchdog asks."""
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
            await self.dead_letters.replay_requested()
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
        """Apply one fetched batch: in one transaction if every handler succeeds, else one by one."""
        self.stats.last_batch_at = time.time()
        deliveries: list[Delivery] = []
        for msg in msgs:
            try:
                envelope, event = decode_delivery(msg)
            except Exception as exc:
                await self.dead_letters.add_undecodable(msg, f"undecodable: {exc}")
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
        split = await ordering.sort(conn, self.name, self.consumer.ordering, deliveries)
        if not split.ready:
            return split
        fresh = await claim_inbox(conn, self.name, split.ready)
        self.stats.duplicates += len(split.ready) - len(fresh)
        await dispatch(conn, self.consumer, [d for d in split.ready if d.envelope.id in fresh])
        if self.consumer.ordering is not Ordering.NONE:
            await ordering.advance(conn, self.name, split.ready + split.stale)
        self.stats.applied += len(fresh)
        return split

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
            await self.dead_letters.add(delivery, repr(exc))
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
            waits = await ordering.sighted(self.pool, self.name, early)
        except Exception as exc:  # the database is away: wait without counting
            log.warning("cannot record early events", consumer=self.name, error=repr(exc))
            await self._nak_all(early, delay=1.0)
            return
        for delivery in early:
            waited = waits.get(delivery.envelope.id, 0.0)
            if waited > self.decl.gap_patience_seconds:
                await self.dead_letters.add(delivery, repr(ordering.gap_error(delivery, waited)))
            else:
                await self._nak(delivery, min(self._backoff(delivery.deliveries), 5.0))

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

    # --- observation ----------------------------------------------------------------

    async def lag(self) -> dict[str, Any]:
        """What the server holds for this consumer: pending, awaiting ack, redelivered."""
        info = await self.bus.js.consumer_info(self.decl.stream, self.decl.durable, timeout=2)
        return {
            "pending": info.num_pending,
            "ack_pending": info.num_ack_pending,
            "redelivered": info.num_redelivered,
        }

    async def waiting(self) -> dict[str, Any]:
        """Early events waiting for a missing predecessor (every replica's), and the oldest wait."""
        return await ordering.waiting(self.pool, self.name)
