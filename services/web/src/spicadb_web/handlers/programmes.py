"""The programmes' pages: the listing with progress bars, and a programme with its parts and its targets
table (filters, sorting, keyset pages, export links)."""

from __future__ import annotations

from typing import Annotated

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from ..rendering import HTML, page
from ..services.caller import Caller
from ..services.programmes import PROGRESS_STATES, TARGET_SORTS, ProgrammesConsole, TargetQuery
from .common import ANSWERS, ConsoleController, Cursor, Text
from .deps import provide_programmes


class ProgrammePages(ConsoleController):
    """The programmes and a programme."""

    dependencies = {"console": provide_programmes}

    @get("/console/programmes", operation_id="consoleProgrammes", media_type=HTML, responses=ANSWERS)
    async def programmes(self, caller: NamedDependency[Caller],
                         console: NamedDependency[ProgrammesConsole], q: Text = None, cursor: Cursor = None
                         ) -> Response[str]:  # fmt: skip
        """Programmes the visitor may see, each with its progress; keyset pages."""
        listing = await console.programmes(q, cursor)
        return page("programmes.html", caller=caller, listing=listing, q=q or "", section="programmes")

    @get(
        "/console/programmes/{code:str}", operation_id="consoleProgramme", media_type=HTML, responses=ANSWERS
    )
    async def programme(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[ProgrammesConsole],
        code: FromPath[str],
        q: Text = None,
        work_package: Text = None,
        progress: Annotated[str | None, QueryParameter(max_length=20)] = None,
        sort: Annotated[str, QueryParameter(max_length=20)] = "name",
        order: Annotated[str, QueryParameter(max_length=4)] = "asc",
        cursor: Cursor = None,
    ) -> Response[str]:
        """A programme: members, work packages with progress, the targets table (filters, sorting, keyset
        pages) and its export links. A programme the visitor may not see answers the API's problem."""
        query = TargetQuery(
            filters={
                "q": q or "",
                "work_package": work_package or "",
                "progress": progress if progress in PROGRESS_STATES else "",
            },
            sort=sort if sort in TARGET_SORTS else "name",
            order="desc" if order == "desc" else "asc",
            cursor=cursor,
        )
        view = await console.programme(code, query)
        return page(
            "programme.html",
            caller=caller,
            view=view,
            sorts=TARGET_SORTS,
            progress_states=PROGRESS_STATES,
            section="programmes",
        )
