"""The columns of a programme's target lists, as their FIELDs described them."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from spicadb_kit.auth import requires

from ..models import TargetColumnOut
from ..services.targets import TargetService


class TargetColumnController(Controller):
    path = "/programmes/{code:str}/columns"
    tags = ["targets"]

    @get("/", guards=[requires("programmes:read")], operation_id="listTargetColumns")
    async def columns(
        self, code: FromPath[str], targets: NamedDependency[TargetService]
    ) -> list[TargetColumnOut]:
        """Every column of the programme's imported target lists, in the order they first came: name,
        datatype, arraysize, unit, UCD, utype, xtype and description as the list gave them, and the target
        field each fills (``maps_to``: ``ra``, ``mag_v``, ``magnitudes.G.error``, ``diameters.JSDC2.LD``...;
        ``id``, ``observations_done``, ``completion_rate``: SPICA-DB's own, filled on export; null: kept
        in the targets' ``properties`` under its name)."""
        return await targets.columns(code)
