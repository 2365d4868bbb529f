"""The domain service: owns the transaction in which the ping and its event are written."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from spicadb_contracts.probe import PingRecorded
from spicadb_kit.db import transaction
from spicadb_kit.errors import NotFound
from spicadb_kit.events import Outbox
from spicadb_kit.problems import ProblemType

from .storage import PingStore

PING_EXISTS = ProblemType.http(409, "ping-exists", "A ping of this id exists already")


class PingService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox) -> None:
        self.pool = pool
        self.outbox = outbox

    async def record(self, ping_id: str, sequence: int, note: str = "") -> PingRecorded:
        event = PingRecorded(ping_id=ping_id, sequence=sequence, recorded_at=datetime.now(UTC), note=note)
        async with transaction(self.pool) as conn:
            if not await PingStore(conn).insert(ping_id, sequence, note, event.recorded_at):
                raise PING_EXISTS(f"ping {ping_id} exists already")
            await self.outbox.add(conn, event, aggregate_id=ping_id)
        return event

    async def summary(self, ping_id: str) -> tuple[int, int]:
        """(sequence, how many times the consumer applied it) of one ping."""
        async with self.pool.acquire() as conn:
            found = await PingStore(conn).summary(ping_id)
        if found is None:
            raise NotFound(f"no ping {ping_id}")
        return found

    async def record_batch(self, pings: list[tuple[str, int]], aggregate: str | None = None) -> None:
        """Many pings in one transaction; with ``aggregate`` they form one ordered stream."""
        now = datetime.now(UTC)
        events = [PingRecorded(ping_id=p, sequence=s, recorded_at=now) for p, s in pings]
        async with transaction(self.pool) as conn:
            await PingStore(conn).insert_many([(p, s, "", now) for p, s in pings])
            await self.outbox.add_many(conn, [(aggregate or e.ping_id, e) for e in events])
