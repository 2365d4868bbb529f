"""A what-if for the benchmark, not kit code: the consumer runner with a *batch* effect.

The kit's runner calls one handler per event, and the probe's handler writes its effect with
one INSERT, so a batch of 200 events costs 200 sequential round trips to PostgreSQL inside
the batch's transaction. Here the same batch writes its effects with one statement (unnest),
everything else unchanged (inbox, ordering positions, one transaction, ack after commit).
`run.py --phases ...,proto` and the stage breakdown measure it next to the real runner, as
evidence for a kit change (a batch handler API); nothing in the services uses it.

It also reads the ordering positions with one index lookup per key (LATERAL ... OFFSET 0).
The kit's ``IN (SELECT * FROM unnest(...))`` lets the planner scan every position of the
consumer when its statistics say the consumer is rare (a consumer added next to a big one,
backfilling): measured 4.3 s per batch of 200 against 0.8 ms for this form, with 300,000
positions and stale statistics. The breakdown's what-if consumer is a new durable, exactly
that case, so without this the comparison would measure the plan, not the batching.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from opentelemetry import trace

from spicadb_kit.events.consumer import _INBOX, ConsumerRunner, Delivery, Sorted
from spicadb_kit.telemetry import context_from_headers, tracer

_tracer = tracer(__name__)

_EFFECTS = """
INSERT INTO ping_effect (ping_id, event_id, version)
SELECT * FROM unnest($1::text[], $2::uuid[], $3::bigint[])
"""


_POSITIONS = """
SELECT u.t, u.i, p.last_version FROM unnest($2::text[], $3::text[]) AS u(t, i)
CROSS JOIN LATERAL (
    SELECT last_version FROM consumer_position p
    WHERE p.consumer = $1 AND p.aggregate_type = u.t AND p.aggregate_id = u.i OFFSET 0
) AS p
"""


class BatchedRunner(ConsumerRunner):
    """ConsumerRunner whose effects for a batch are one statement and one span."""

    async def _sort(self, conn: asyncpg.Connection, deliveries: list[Delivery]) -> Sorted:
        if not self.consumer.ordered:
            return Sorted(ready=list(deliveries))
        keys = sorted({d.aggregate for d in deliveries})
        rows = await conn.fetch(_POSITIONS, self.name, [k[0] for k in keys], [k[1] for k in keys])
        position: dict[tuple[str, str], int] = {(r[0], r[1]): r[2] for r in rows}
        split = Sorted()
        for delivery in deliveries:
            version = delivery.envelope.aggregate_version
            last = position.get(delivery.aggregate, 0)
            if version <= last:
                split.stale.append(delivery)
            elif version == last + 1:
                position[delivery.aggregate] = version
                split.ready.append(delivery)
            else:
                split.early.append(delivery)
        return split

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
        todo = [d for d in split.ready if d.envelope.id in fresh]
        self.stats.duplicates += len(split.ready) - len(todo)
        if todo:
            await self._handle_batch(conn, todo)
        if self.consumer.ordered:
            await self._advance(conn, split.ready)
        self.stats.applied += len(fresh)
        return split

    async def _handle_batch(self, conn: asyncpg.Connection, todo: list[Delivery]) -> None:
        first = todo[0]
        with _tracer.start_as_current_span(
            f"consume {len(todo)} events",
            context=context_from_headers(first.msg.headers),
            kind=trace.SpanKind.CONSUMER,
            attributes={"messaging.system": "nats", "messaging.consumer": self.name},
        ):
            event: Any
            ids, event_ids, versions = [], [], []
            for delivery in todo:
                event = delivery.event
                ids.append(event.ping_id)
                event_ids.append(delivery.envelope.id)
                versions.append(delivery.envelope.aggregate_version)
            await conn.execute(_EFFECTS, ids, event_ids, versions)
