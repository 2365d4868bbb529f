"""Applying deliveries exactly once: the inbox claim, then the consumer's handlers in stream order.

An event whose id is already in the consumer's inbox was applied before (a redelivery, a replay
of a letter applied meanwhile): claiming it in the same transaction as its effects is what makes
its second arrival a no-op. Each handler call runs in a CONSUMER span continuing the producer's trace.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
from opentelemetry import trace

from ..telemetry import context_from_headers, tracer
from .delivery import Delivery
from .registry import BatchHandler, EventConsumer

__all__ = ["claim_inbox", "dispatch"]

_tracer = tracer(__name__)

_INBOX = """
INSERT INTO inbox (consumer, event_id, event_type)
SELECT $1, u.id, u.t FROM unnest($2::uuid[], $3::text[]) AS u(id, t)
ON CONFLICT DO NOTHING RETURNING event_id
"""


async def claim_inbox(conn: asyncpg.Connection, consumer: str, deliveries: Sequence[Delivery]) -> set[UUID]:
    """Record the deliveries in the consumer's inbox; returns the ids of those not seen before."""
    rows = await conn.fetch(
        _INBOX, consumer, [d.envelope.id for d in deliveries], [d.envelope.type for d in deliveries]
    )
    return {r["event_id"] for r in rows}


async def dispatch(conn: asyncpg.Connection, consumer: EventConsumer, deliveries: list[Delivery]) -> None:
    """Apply in stream order: runs of one batch-handled type together, the others one by one."""
    batched = consumer.batch_handlers
    start = 0
    while start < len(deliveries):
        event_type = deliveries[start].envelope.type
        end = start + 1
        if event_type in batched:
            while end < len(deliveries) and deliveries[end].envelope.type == event_type:
                end += 1
            await _handle_batch(conn, consumer.name, batched[event_type], deliveries[start:end])
        else:
            await _handle(conn, consumer, deliveries[start])
        start = end


async def _handle_batch(
    conn: asyncpg.Connection, consumer: str, handler: BatchHandler, run: list[Delivery]
) -> None:
    first = run[0]
    # one span for the run, continuing the first event's trace and linked to the others'
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
            "messaging.consumer": consumer,
            "messaging.batch.message_count": len(run),
        },
    ):
        await handler(conn, [(d.envelope, d.event) for d in run])


async def _handle(conn: asyncpg.Connection, consumer: EventConsumer, delivery: Delivery) -> None:
    envelope = delivery.envelope
    handler = consumer.handlers.get(envelope.type)
    with _tracer.start_as_current_span(
        f"consume {envelope.type}",
        context=context_from_headers(delivery.msg.headers),
        kind=trace.SpanKind.CONSUMER,
        attributes={
            "messaging.system": "nats",
            "messaging.consumer": consumer.name,
            "event.id": str(envelope.id),
        },
    ):
        if handler is not None:  # an event type without handler is acknowledged, with no effect
            await handler(conn, envelope, delivery.event)
