"""Event handlers in: the night logs' observations (what granules are linked to) and the programmes' data
rights. Each batch is one transaction with the inbox rows, so a redelivered event changes nothing twice.

Built per app: the link rule's slack and radius are settings."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.nightlogs import ObservationLogged
from spicadb_kit import rights
from spicadb_kit.events import Envelope, EventConsumer, Outbox

from .config import OifitsSettings
from .services.links import Linker
from .spec import NIGHT_LOGS, RIGHTS, SPEC

# granule.linked events leave through the service's outbox, in the consumer's transaction
OUTBOX = Outbox(f"/spicadb/{SPEC.name}")


def consumers(settings: OifitsSettings) -> list[EventConsumer]:
    night_logs = EventConsumer(NIGHT_LOGS)

    @night_logs.on_batch(ObservationLogged)
    async def observations_logged(
        conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationLogged]]
    ) -> None:
        await Linker(conn, settings).observations_logged([event for _, event in items], OUTBOX)

    return [night_logs, rights.consumer(RIGHTS)]
