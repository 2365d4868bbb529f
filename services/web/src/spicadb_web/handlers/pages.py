"""The console's pages. Each asks the console (services/console.py) for its data and renders one
template; the APIs' refusals become the page's message (their problem's title), a refused token a new
sign-in."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from ..api import ApiProblem, SignInAgain
from ..rendering import HTML, page
from ..services.caller import Caller
from ..services.console import (
    PROGRESS_STATES,
    SITE,
    TARGET_SORTS,
    Console,
    TargetQuery,
)
from .deps import NeedsSignIn, sign_in

Text = Annotated[str | None, QueryParameter(max_length=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=2000)]


def _problem_page(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[str]:
    caller = getattr(request.state, "caller", None)  # set by the caller dependency
    return page("problem.html", status=problem.status, caller=caller, problem=problem, section=None)


def _to_sign_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    return sign_in(request)


class Pages(Controller):
    """Every page: anonymous for the kit's token middleware (a visitor without a token is sent to sign
    in by the ``caller`` dependency, not answered 401)."""

    opt = {"anonymous": True}
    tags = ["console"]
    exception_handlers = {
        NeedsSignIn: _to_sign_in,
        SignInAgain: _to_sign_in,
        ApiProblem: _problem_page,
    }

    @get("/", operation_id="consoleHome", media_type=HTML)
    async def home(self, caller: NamedDependency[Caller],
                   console: NamedDependency[Console]) -> Response[str]:  # fmt: skip
        """Home: who you are, your programmes, the last night's log with its quality levels."""
        home = await console.home()
        return page("home.html", caller=caller, home=home, section="home")

    @get("/console/programmes", operation_id="consoleProgrammes", media_type=HTML)
    async def programmes(self, caller: NamedDependency[Caller],
                         console: NamedDependency[Console], q: Text = None, cursor: Cursor = None
                         ) -> Response[str]:  # fmt: skip
        """Programmes the visitor may see, each with its progress; keyset pages."""
        listing = await console.programmes(q, cursor)
        return page("programmes.html", caller=caller, listing=listing, q=q or "", section="programmes")

    @get("/console/programmes/{code:str}", operation_id="consoleProgramme", media_type=HTML)
    async def programme(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[Console],
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

    @get("/console/nights", operation_id="consoleNights", media_type=HTML)
    async def nights(self, caller: NamedDependency[Caller],
                     console: NamedDependency[Console], cursor: Cursor = None) -> Response[str]:  # fmt: skip
        """Nights with a plan or a log; keyset pages."""
        listing = await console.nights(cursor)
        return page("nights.html", caller=caller, listing=listing, site=SITE, section="nights")

    @get("/console/nights/{site:str}/{night:date}", operation_id="consoleNight", media_type=HTML)
    async def night(self, caller: NamedDependency[Caller],
                    console: NamedDependency[Console], site: FromPath[str], night: FromPath[date]) -> Response[str]:  # fmt: skip
        """A night: its observations with their quality levels."""
        view = await console.night(site, night)
        return page("night.html", caller=caller, view=view, section="nights")
