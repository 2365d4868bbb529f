"""Writing events: in the same transaction as the change they describe.

``await outbox.add(conn, event, aggregate_id=...)`` inside the service's transaction; the
relay (relay.py) publishes after commit. Versions per aggregate come from a row in
``outbox_aggregate`` whose lock orders concurrent writers of the same aggregate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg
import msgspec

from spicadb_contracts import Event

from ..telemetry import current_trace_headers
from .envelope import Envelope

_NEXT_VERSIONS = """
INSERT INTO outbox_aggregate AS a (aggregate_type, aggregate_id, last_version)
SELECT t, i, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(t, i, n)
ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_version = a.last_version + excluded.last_version
RETURNING aggregate_type, aggregate_id, last_version
"""

_COLUMNS = (
    "event_id",
    "event_type",
    "subject",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "headers",
    "payload",
    "created_at",
)


class Outbox:
    """The event writer of one service (``source`` names it in every envelope)."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._encoder = msgspec.json.Encoder()

    async def add(self, conn: asyncpg.Connection, event: Event, *, aggregate_id: str) -> Envelope:
        """Record one event; must run inside the caller's transaction."""
        return (await self.add_many(conn, [(aggregate_id, event)]))[0]

    async def add_many(self, conn: asyncpg.Connection, events: Sequence[tuple[str, Event]]) -> list[Envelope]:
        """Record events in order (one statement for versions, one COPY for rows)."""
        if not events:
            return []
        if not conn.is_in_transaction():
            raise RuntimeError("outbox writes belong inside the transaction of the change they describe")
        last = await self._reserve_versions(conn, events)
        counters: Counter[tuple[str, str]] = Counter()
        first = {key: version - n + 1 for key, (version, n) in last.items()}
        trace = current_trace_headers()
        envelopes, rows = [], []
        for aggregate_id, event in events:
            key = (event.aggregate, aggregate_id)
            version = first[key] + counters[key]
            counters[key] += 1
            envelope = Envelope.for_event(
                event,
                source=self.source,
                aggregate_id=aggregate_id,
                aggregate_version=version,
                trace_headers=trace,
            )
            envelopes.append(envelope)
            rows.append(self._row(envelope, event))
        await conn.copy_records_to_table("outbox", records=rows, columns=_COLUMNS)
        return envelopes

    async def _reserve_versions(
        self, conn: asyncpg.Connection, events: Sequence[tuple[str, Event]]
    ) -> dict[tuple[str, str], tuple[int, int]]:
        wanted = Counter((event.aggregate, aggregate_id) for aggregate_id, event in events)
        keys = sorted(wanted)  # a stable lock order avoids deadlocks between two writers
        rows = await conn.fetch(
            _NEXT_VERSIONS, [k[0] for k in keys], [k[1] for k in keys], [wanted[k] for k in keys]
        )
        last: dict[tuple[str, str], tuple[int, int]] = {}
        for row in rows:
            key = (row["aggregate_type"], row["aggregate_id"])
            last[key] = (row["last_version"], wanted[key])
        return last

    def _row(self, envelope: Envelope, event: Event) -> tuple[object, ...]:
        headers = envelope.headers()
        return (
            envelope.id,
            envelope.type,
            event.subject(),
            envelope.aggregate_type,
            envelope.subject,
            envelope.aggregate_version,
            headers,
            self._encoder.encode(event),
            envelope.time,
        )
