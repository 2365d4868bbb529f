"""Event handlers in: the night logs keep progress current. Each batch is one transaction with the
inbox rows, so a redelivered event changes nothing twice."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.nightlogs import NightScheduled, ObservationFlagged, ObservationLogged
from spicadb_kit.events import Envelope, EventConsumer, Outbox

from .services.progress import ProgressService
from .spec import NIGHT_LOGS, SPEC

night_logs = EventConsumer(NIGHT_LOGS)
# progress.changed events leave through the service's outbox, in the consumer's transaction
OUTBOX = Outbox(f"/spicadb/{SPEC.name}")


@night_logs.on_batch(NightScheduled)
async def nights_scheduled(conn: asyncpg.Connection, items: list[tuple[Envelope, NightScheduled]]) -> None:
    progress = ProgressService(conn, OUTBOX)
    touched = []
    for _, plan in items:
        touched += await progress.night_scheduled(plan)
    await progress.recount(touched)


@night_logs.on_batch(ObservationLogged)
async def observations_logged(
    conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationLogged]]
) -> None:
    progress = ProgressService(conn, OUTBOX)
    await progress.recount(await progress.observations_logged([event for _, event in items]))


@night_logs.on_batch(ObservationFlagged)
async def observations_flagged(
    conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationFlagged]]
) -> None:
    progress = ProgressService(conn, OUTBOX)
    await progress.recount(await progress.observations_flagged([event for _, event in items]))
