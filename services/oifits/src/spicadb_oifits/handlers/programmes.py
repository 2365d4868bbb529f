"""The admin's edge: attaching a file to a programme."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from spicadb_contracts.bounds import Identifier
from spicadb_kit.auth import Principal, requires

from ..models import FileOut
from ..services.assign import AssignService


class ProgrammeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # a programme's code; null: the file belongs to no programme (released after the default period)
    programme: Identifier | None


class FileProgrammeController(Controller):
    path = "/oifits"
    tags = ["files"]

    @put("/files/{file_id:uuid}/programme", guards=[requires("admin")], operation_id="assignFileProgramme")
    async def assign(
        self,
        file_id: FromPath[UUID],
        data: JSONBody[ProgrammeIn],
        principal: NamedDependency[Principal],
        assignments: NamedDependency[AssignService],
    ) -> FileOut:
        """Attach the file and its granules to a programme (admins only): its members see it from then on,
        and it is released after that programme's proprietary period. 422 for a programme unknown here."""
        return await assignments.assign(file_id, data.programme, principal.subject)
