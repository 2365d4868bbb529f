"""The OiDB view: the granules search (cone by name or coordinates, night, programme, mode, levels) with
quick-look thumbnails, downloads and DataLink; a granule with its plots full size. The oidb API applies
the rights; a wrong field of the search is a 400 page with the message beside its input."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from ..rendering import HTML, page
from ..services.caller import Caller
from ..services.oidb import (
    CALIB_LEVELS,
    DEFAULT_RADIUS,
    INSTRUMENT_MODES,
    MAX_RADIUS,
    QUALITY_LEVELS,
    OidbConsole,
    SearchForm,
)
from .common import ANSWERS, ConsoleController, Cursor, Text, html_answer
from .deps import area

SEARCH_ANSWERS = {
    **ANSWERS,
    400: html_answer(
        "A field of the search cannot be used (a position that cannot be read, a radius out of bounds, a "
        "malformed night, a level not on its scale) or the API refused it: the form again with the "
        "message beside the field, no results"
    ),
}


class OidbPages(ConsoleController):
    """The OiDB search and a granule."""

    dependencies = {"console": area(OidbConsole)}

    @get("/console/oidb", operation_id="consoleOidb", media_type=HTML, responses=SEARCH_ANSWERS)
    async def search(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[OidbConsole],
        target: Annotated[
            str | None,
            QueryParameter(
                max_length=200,
                description="a target's name (resolved from the granules' own names) or its coordinates, "
                "'ra dec' in degrees or sexagesimal (RA in hours)",
            ),
        ] = None,
        radius: Annotated[
            str | None, QueryParameter(max_length=40, description="the cone's radius in arcminutes")
        ] = None,
        night: Annotated[
            str | None, QueryParameter(max_length=40, description="the local date of the evening, YYYY-MM-DD")
        ] = None,
        programme: Text = None,
        mode: Annotated[str | None, QueryParameter(max_length=40, description="SPICA mode")] = None,
        calib_level: Annotated[str | None, QueryParameter(max_length=40, description="0 to 3")] = None,
        quality: Annotated[
            str | None, QueryParameter(max_length=40, description="quality level, 0 to 5")
        ] = None,
        cursor: Cursor = None,
    ) -> Response[str]:
        """Granules the visitor may see that the search finds, a page at a time (the API's cursor)."""
        form = SearchForm(
            target=target or "", radius=radius or "", night=night or "", programme=programme or "",
            mode=mode or "", calib_level=calib_level or "", quality=quality or "",
        )  # fmt: skip
        view = await console.search(form, cursor)
        status = 400 if view.refused or form.errors else 200  # as documented, whatever the API said
        return page(
            "oidb.html",
            status=status,
            caller=caller,
            view=view,
            modes=INSTRUMENT_MODES,
            calib_levels=CALIB_LEVELS,
            quality_levels=QUALITY_LEVELS,
            default_radius=DEFAULT_RADIUS,
            max_radius=MAX_RADIUS,
            section="oidb",
        )

    @get(
        "/console/oidb/granules/{granule_id:uuid}",
        operation_id="consoleOidbGranule",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def granule(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[OidbConsole],
        granule_id: FromPath[UUID],
    ) -> Response[str]:
        """A granule: its facts, its quick-look plots full size, its file and its DataLink. One the visitor
        may not see is the API's 404."""
        granule = await console.granule(granule_id)
        return page(
            "oidb_granule.html", caller=caller, granule=granule, quality_levels=QUALITY_LEVELS, section="oidb"
        )
