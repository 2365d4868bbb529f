"""Event handlers in: the night logs keep the L0 view current; the programmes events keep the kit's
data-rights copy (titles, PIs, members, proprietary periods). Each batch is one transaction with the
inbox rows, so a redelivered event changes nothing twice."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.nightlogs import NightScheduled, ObservationFlagged, ObservationLogged
from spicadb_kit import rights
from spicadb_kit.events import Envelope, EventConsumer

from .services.view import ViewService
from .spec import NIGHT_LOGS, RIGHTS

night_logs = EventConsumer(NIGHT_LOGS)
programme_rights = rights.consumer(RIGHTS)


@night_logs.on_batch(NightScheduled)
async def nights_scheduled(conn: asyncpg.Connection, items: list[tuple[Envelope, NightScheduled]]) -> None:
    view = ViewService(conn)
    for _, plan in items:
        await view.night_scheduled(plan)


@night_logs.on_batch(ObservationLogged)
async def observations_logged(
    conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationLogged]]
) -> None:
    await ViewService(conn).observations_logged([event for _, event in items])


@night_logs.on_batch(ObservationFlagged)
async def observations_flagged(
    conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationFlagged]]
) -> None:
    await ViewService(conn).observations_flagged([event for _, event in items])
