"""The console's pages. Each asks the console (services/console.py) for its data and renders one
template; the APIs' refusals become the page's message (their problem's title), a refused token a new
sign-in."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
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


def _page(description: str) -> ResponseSpec:
    return ResponseSpec(str, generate_examples=False, description=description, media_type=HTML)


# what every page may answer besides itself (documented in the service's OpenAPI document)
ANSWERS = {
    303: ResponseSpec(None, description="No working session: to /auth/login?next=<this page>"),
    403: _page("The API refused the visitor: a page with the API problem's title and detail"),
    404: _page("The API knows no such object the visitor may see: a page with its problem's title"),
    502: _page("The platform could not be reached: a page saying so"),
    504: _page("The platform did not answer in time: a page saying so"),
}

Text = Annotated[str | None, QueryParameter(max_length=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=2000)]


def _problem_page(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[str]:
    caller = getattr(request.state, "caller", None)  # set by the caller dependency
    # an API's own failure is the platform's (502) to the visitor, never this page's 500
    status = problem.status if problem.status < 500 or problem.status in (502, 504) else 502
    return page("problem.html", status=status, caller=caller, problem=problem, section=None)


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

    @get("/", operation_id="consoleHome", media_type=HTML, responses=ANSWERS)
    async def home(self, caller: NamedDependency[Caller],
                   console: NamedDependency[Console]) -> Response[str]:  # fmt: skip
        """Home: who you are, your programmes, the last night's log with its quality levels."""
        home = await console.home()
        return page("home.html", caller=caller, home=home, section="home")

    @get("/console/programmes", operation_id="consoleProgrammes", media_type=HTML, responses=ANSWERS)
    async def programmes(self, caller: NamedDependency[Caller],
                         console: NamedDependency[Console], q: Text = None, cursor: Cursor = None
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

    @get("/console/nights", operation_id="consoleNights", media_type=HTML, responses=ANSWERS)
    async def nights(self, caller: NamedDependency[Caller],
                     console: NamedDependency[Console], cursor: Cursor = None) -> Response[str]:  # fmt: skip
        """Nights with a plan or a log; keyset pages."""
        listing = await console.nights(cursor)
        return page("nights.html", caller=caller, listing=listing, site=SITE, section="nights")

    @get(
        "/console/nights/{site:str}/{night:date}",
        operation_id="consoleNight",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def night(self, caller: NamedDependency[Caller],
                    console: NamedDependency[Console], site: FromPath[str], night: FromPath[date]) -> Response[str]:  # fmt: skip
        """A night: its observations with their quality levels."""
        view = await console.night(site, night)
        return page("night.html", caller=caller, view=view, section="nights")
