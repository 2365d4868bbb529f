"""Event handlers in: the oifits events keep the OiDB table (granules indexed, superseded, linked,
attached to a programme);
the night logs' flags its quality; the programmes events the kit's data-rights copy. Each batch is one
transaction with the inbox rows, so a redelivered event changes nothing twice.

Built per app: the granules' collection, publisher DIDs and URLs are settings."""

from __future__ import annotations

import asyncpg

from spicadb_contracts.nightlogs import ObservationFlagged
from spicadb_contracts.oifits import FileIndexed, FileProgrammeAssigned, FileSuperseded, GranuleLinked
from spicadb_kit import rights
from spicadb_kit.events import Envelope, EventConsumer

from .config import OidbSettings
from .domain import Naming
from .services.ingest import IngestService
from .spec import NIGHT_LOGS, OIFITS, RIGHTS


def consumers(settings: OidbSettings) -> list[EventConsumer]:
    naming = Naming.of(settings)
    files = EventConsumer(OIFITS)
    # newest version wins: it sees only the flags of an observation's versions (see spec.py)
    flags = EventConsumer(NIGHT_LOGS)

    @files.on_batch(FileIndexed)
    async def files_indexed(conn: asyncpg.Connection, items: list[tuple[Envelope, FileIndexed]]) -> None:
        await IngestService(conn, naming).files_indexed([event for _, event in items])

    @files.on(FileSuperseded)
    async def file_superseded(conn: asyncpg.Connection, _: Envelope, event: FileSuperseded) -> None:
        await IngestService(conn, naming).file_superseded(event)

    @files.on(FileProgrammeAssigned)
    async def file_assigned(conn: asyncpg.Connection, _: Envelope, event: FileProgrammeAssigned) -> None:
        await IngestService(conn, naming).file_assigned(event)

    @files.on(GranuleLinked)
    async def granule_linked(conn: asyncpg.Connection, _: Envelope, event: GranuleLinked) -> None:
        await IngestService(conn, naming).granule_linked(event)

    @flags.on_batch(ObservationFlagged)
    async def observations_flagged(
        conn: asyncpg.Connection, items: list[tuple[Envelope, ObservationFlagged]]
    ) -> None:
        await IngestService(conn, naming).observations_flagged(items)

    return [files, flags, rights.consumer(RIGHTS)]
