"""Event handlers in: each applied ping leaves one row in ping_effect."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.probe import PingRecorded
from spicadb_kit.events import Envelope, EventConsumer

from .spec import EFFECTS
from .storage import PingStore

effects = EventConsumer(EFFECTS)


@effects.on(PingRecorded)
async def apply_ping(conn: asyncpg.Connection, envelope: Envelope, event: PingRecorded) -> None:
    if event.note.startswith("poison") and not await PingStore(conn).cured(event.ping_id):
        raise ValueError(f"ping {event.ping_id} is poison")
    await PingStore(conn).record_effect(event.ping_id, envelope.id, envelope.aggregate_version)
