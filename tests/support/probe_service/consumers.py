"""Event handlers in: each applied ping leaves one row in ping_effect."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.probe import PingRecorded
from spicadb_kit.events import Envelope, EventConsumer

from .spec import EFFECTS
from .storage import PingStore

effects = EventConsumer(EFFECTS)


@effects.on_batch(PingRecorded)
async def apply_pings(conn: asyncpg.Connection, items: list[tuple[Envelope, PingRecorded]]) -> None:
    store = PingStore(conn)
    for _, event in items:
        if event.note.startswith("poison") and not await store.cured(event.ping_id):
            raise ValueError(f"ping {event.ping_id} is poison")
    await store.record_effects(
        [(e.ping_id, envelope.id, envelope.aggregate_version) for envelope, e in items]
    )
