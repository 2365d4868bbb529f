"""An admin attaches an observation to a programme (or detaches it): a line nothing could place gets
its programme's rights. The observation's ``observation.logged`` is published again with the programme
(same log version, the next version of its aggregate), in the same transaction, so every view follows
as it follows a corrected log."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from ..models import ObservationOut
from ..problems import OBSERVATION_NOT_FOUND, UNKNOWN_PROGRAMME
from ..storage.assignments import AssignmentStore
from .ingest import logged_of_row
from .observations import ObservationService

log = get_logger(__name__)


class AssignService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, reader: ObservationService) -> None:
        self.pool = pool
        self.outbox = outbox
        self.reader = reader

    async def assign(self, observation_id: UUID, programme: str | None, by: str) -> ObservationOut:
        """The same programme again changes nothing and announces nothing."""
        async with transaction(self.pool) as conn:
            store = AssignmentStore(conn)
            row = await store.lock(observation_id)
            if row is None:
                raise OBSERVATION_NOT_FOUND(f"no observation {observation_id}")
            if programme is not None and not await store.programme_known(programme):
                raise UNKNOWN_PROGRAMME(
                    f"no programme {programme} is known here",
                    errors=[FieldError("body.programme", "not the code of a known programme")],
                )
            if row["programme"] != programme:
                row = await store.assign(observation_id, programme, by)
                event = logged_of_row(
                    row, row["log_version"], datetime.now(UTC), withdrawn=row["withdrawn_in"] is not None
                )
                await self.outbox.add(conn, event, aggregate_id=str(observation_id))
                log.info("observation assigned", observation=str(observation_id), programme=programme, by=by)
        return await self.reader.get(observation_id)
