"""Writing events: in the same transaction as the change they describe.

``await outbox.add(conn, event, aggregate_id=...)`` inside the service's transaction; the
relay (relay.py) publishes after commit. Versions per aggregate come from a row in
``outbox_aggregate`` whose lock orders concurrent writers of the same aggregate.

An event NATS would refuse (headers and body over the server's max_payload) is refused here,
inside the transaction, with a 413 problem naming its largest fields: the change rolls back
with it, instead of an outbox row the relay could never publish.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

import asyncpg
import msgspec

from spicadb_contracts import Event

from ..errors import FieldError, Problem
from ..problems import EVENT_TOO_LARGE
from ..telemetry import current_trace_headers
from .bus import message_size, server_max_payload
from .envelope import Envelope

__all__ = ["HEADROOM", "Outbox", "event_too_large", "largest_fields"]

_NEXT_VERSIONS = """
INSERT INTO outbox_aggregate AS a (aggregate_type, aggregate_id, last_version)
SELECT t, i, n FROM unnest($1::text[], $2::text[], $3::bigint[]) AS u(t, i, n)
ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_version = a.last_version + excluded.last_version
RETURNING aggregate_type, aggregate_id, last_version
"""

# room left under max_payload: headers a relay or a later release may add (trace state, ...)
HEADROOM = 1024

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

    def __init__(self, source: str, *, max_payload: Callable[[], int] | None = None) -> None:
        """``max_payload``: what the NATS server takes (the app passes its bus's); by default the
        value of the server this process connected to."""
        self.source = source
        self.max_payload = max_payload or server_max_payload
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
        limit = self.max_payload() - HEADROOM
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
            headers, payload = envelope.headers(), self._encoder.encode(event)
            if (size := message_size(headers, payload)) > limit:
                raise event_too_large(event, size, limit)  # the caller's transaction rolls back
            rows.append(self._row(envelope, event, headers, payload))
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

    def _row(
        self, envelope: Envelope, event: Event, headers: dict[str, str], payload: bytes
    ) -> tuple[object, ...]:
        return (
            envelope.id,
            envelope.type,
            event.subject(),
            envelope.aggregate_type,
            envelope.subject,
            envelope.aggregate_version,
            headers,
            payload,
            envelope.time,
        )


def event_too_large(event: Event, size: int, limit: int) -> Problem:
    """The 413 problem of an event NATS would refuse, naming its largest fields."""
    fields = largest_fields(msgspec.to_builtins(event))
    named = ", ".join(f"{path} ({n:,} bytes)" for path, n in fields) or "its payload"
    return EVENT_TOO_LARGE(
        f"the {event.event_name} event would be {size:,} bytes, more than the {limit:,} an event may"
        f" carry (NATS max_payload); its largest fields: {named}",
        errors=[
            FieldError(path, f"{n:,} bytes in a {size:,}-byte event (limit {limit:,})") for path, n in fields
        ],
        event_type=event.event_type(),
        size=size,
        limit=limit,
    )


def largest_fields(payload: object, top: int = 3) -> list[tuple[str, int]]:
    """The ``top`` largest top-level fields of an encoded payload, each followed down while one child
    weighs most of it (``observations[3].comments`` rather than ``observations``)."""
    if not isinstance(payload, dict):
        return []
    sized = sorted(((str(k), v, _size(v)) for k, v in payload.items()), key=lambda f: -f[2])
    return [_dominant(path, value, size) for path, value, size in sized[:top] if size > 2]


def _dominant(path: str, value: object, size: int) -> tuple[str, int]:
    while True:
        children: list[tuple[str, object]] = []
        if isinstance(value, dict):
            children = [(f"{path}.{k}", v) for k, v in value.items()]
        elif isinstance(value, list):
            children = [(f"{path}[{i}]", v) for i, v in enumerate(value)]
        if not children:
            return path, size
        child_path, child, child_size = max(((p, v, _size(v)) for p, v in children), key=lambda c: c[2])
        if child_size * 2 < size:  # no single child explains the size: the field itself does
            return path, size
        path, value, size = child_path, child, child_size


def _size(value: object) -> int:
    return len(msgspec.json.encode(value))
