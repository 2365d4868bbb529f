"""An admin attaches a file and its granules to a programme (or detaches it): data nobody could place
when they were pushed (no programme keyword, no linked observation) get their programme's rights. One
transaction with its ``oifits.file.programme_assigned`` event, which the views follow."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from spicadb_contracts.oifits import FileProgrammeAssigned
from spicadb_kit.db import transaction
from spicadb_kit.errors import FieldError
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger

from ..models import FileOut
from ..problems import FILE_NOT_FOUND, UNKNOWN_PROGRAMME
from ..storage.files import FileStore
from .files import FileService

log = get_logger(__name__)


class AssignService:
    def __init__(self, pool: asyncpg.Pool, outbox: Outbox, reader: FileService) -> None:
        self.pool = pool
        self.outbox = outbox
        # the admin reads back the file whatever its programme
        self.reader = reader

    async def assign(self, file_id: UUID, programme: str | None, by: str) -> FileOut:
        """The file and every granule of it belong to ``programme`` (None: to none). The same programme
        again changes nothing and announces nothing."""
        async with transaction(self.pool) as conn:
            files = FileStore(conn)
            previous = await files.lock_file(file_id)
            if previous is None:
                raise FILE_NOT_FOUND(f"no file {file_id}")
            if programme is not None and programme not in await files.programme_codes():
                raise UNKNOWN_PROGRAMME(
                    f"no programme {programme} is known here",
                    errors=[FieldError("body.programme", "not the code of a known programme")],
                )
            granule_ids = await files.assign_programme(file_id, programme)
            if granule_ids is not None:
                event = FileProgrammeAssigned(
                    file_id=file_id,
                    programme=programme,
                    previous_programme=previous["programme"],
                    granule_ids=granule_ids,
                    assigned_by=by,
                    assigned_at=datetime.now(UTC),
                )
                await self.outbox.add(conn, event, aggregate_id=str(file_id))
                log.info("file assigned", file=str(file_id), programme=programme, by=by)
        return await self.reader.file(file_id)
