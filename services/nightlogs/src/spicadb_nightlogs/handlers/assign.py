"""The admin's edge: attaching an observation to a programme."""

from __future__ import annotations

from uuid import UUID

import msgspec
from litestar import Controller, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from spicadb_contracts.bounds import Identifier
from spicadb_kit.auth import Principal, requires

from ..models import ObservationOut
from ..services.assign import AssignService


class ProgrammeIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # a programme's code; null: the observation belongs to no programme
    programme: Identifier | None


class ObservationProgrammeController(Controller):
    path = "/nightlogs/observations"
    tags = ["observations"]

    @put(
        "/{observation_id:uuid}/programme",
        guards=[requires("admin")],
        operation_id="assignObservationProgramme",
    )
    async def assign(
        self,
        observation_id: FromPath[UUID],
        data: JSONBody[ProgrammeIn],
        principal: NamedDependency[Principal],
        assignments: NamedDependency[AssignService],
    ) -> ObservationOut:
        """Attach the observation to a programme (admins only): its members see it from then on, it is
        released after that programme's proprietary period, and the views follow. 422 for a programme
        unknown here."""
        return await assignments.assign(observation_id, data.programme, principal.subject)
