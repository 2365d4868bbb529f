"""The console's pages. Each asks the console (services/console.py) for its data and renders one
template; the APIs' refusals become the page's message (their problem's title), a refused token a new
sign-in."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect

from spicadb_kit.openapi import form, takes
from spicadb_kit.redirects import safe_next

from ..api import ApiProblem, SignInAgain
from ..rendering import HTML, href, page
from ..services.caller import Caller
from ..services.console import (
    FLAG_LEVELS,
    FLAG_REASONS,
    PROGRESS_STATES,
    SITE,
    TARGET_SORTS,
    Console,
    FlagForm,
    NightPage,
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
# what a form that writes may answer besides its redirect
WRITE_ANSWERS = {
    **ANSWERS,
    403: _page(
        "Sent without the visitor's token (no script, so no X-CSRF-Token; or the session ended): nothing "
        "saved, a page saying why; or the API refused the visitor: its problem's title"
    ),
    409: _page("The API refused the change (a conflict): the page again with the problem's title"),
    422: _page("The API refused the values: the page again with the problem's title and wrong fields"),
}

# the flag form's body, as the nightlogs API takes a flag (which checks it)
FLAG_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "level": Schema(type=OpenAPIType.STRING, enum=list(FLAG_LEVELS), description="quality level"),
                "reasons": Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(type=OpenAPIType.STRING, enum=list(FLAG_REASONS)),
                    description="reason codes (the field repeated)",
                ),
                "comment": Schema(type=OpenAPIType.STRING, max_length=4000, description="a comment"),
            },
            required=("level",),
        )
    },
    "the flag form, sent by the console's script with the session's X-CSRF-Token header",
)
Text = Annotated[str | None, QueryParameter(max_length=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=2000)]


def _problem_page(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[str]:
    caller = getattr(request.state, "caller", None)  # set by the caller dependency
    # an API's own failure is the platform's (502) to the visitor, never this page's 500
    status = problem.status if problem.status < 500 or problem.status in (502, 504) else 502
    return page("problem.html", status=status, caller=caller, problem=problem, section=None)


def _to_sign_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    if request.method == "POST":
        return _not_saved(request)
    return sign_in(request)


def _not_saved(request: Request[Any, Any, Any]) -> Response[str]:
    """A form that writes, arrived without the visitor's token: the gateway passes a session's token
    only with the X-CSRF-Token header, which the console's script adds. Refused plainly (nothing is
    written, and the visitor is told why), never treated as an anonymous visit."""
    referer = urlsplit(request.headers.get("referer") or "")
    back = safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))
    problem = ApiProblem(
        403,
        "Nothing was saved",
        "This form is sent by the console's script, which adds your session's anti-forgery token. It "
        "arrived without one: JavaScript may be off in this browser, or your session has ended. Sign in "
        "and send the form again with JavaScript on.",
    )
    return page(
        "problem.html",
        status=403,
        caller=None,
        problem=problem,
        section=None,
        sign_in="/auth/login?" + urlencode({"next": back}),
    )


def _night_page(caller: Caller, view: NightPage, status: int = 200) -> Response[str]:
    return page(
        "night.html",
        status=status,
        caller=caller,
        view=view.night,
        chosen=view,
        levels=FLAG_LEVELS,
        reasons=FLAG_REASONS,
        section="nights",
    )


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
    async def night(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[Console],
        site: FromPath[str],
        night: FromPath[date],
        observation: FromQuery[UUID | None] = None,
        saved: Annotated[bool, QueryParameter(description="the page after a flag was saved")] = False,
    ) -> Response[str]:
        """A night: its observations with their quality levels; the chosen ``observation`` with its
        conditions, its flag history and, for a visitor who may flag (``nightlogs:flag``), the flag form."""
        view = await console.night(site, night, observation)
        view.saved = saved and isinstance(view.observation, dict)
        return _night_page(caller, view)

    @post(
        "/console/nights/{site:str}/{night:date}/observations/{observation:uuid}/flags",
        operation_id="consoleFlagObservation",
        opt=FLAG_FORM,
        status_code=303,
        responses={**WRITE_ANSWERS, 303: ResponseSpec(None, description="Saved: to the night's page")},
    )
    async def flag(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        console: NamedDependency[Console],
        site: FromPath[str],
        night: FromPath[date],
        observation: FromPath[UUID],
    ) -> Response[str]:
        """The flag form, sent by the console's script (with the session's X-CSRF-Token): the flag is
        set through the nightlogs API, then the night's page shows it (303); a flag the API refuses shows
        the page again with the problem's title and wrong fields beside the form."""
        sent = await request.form()
        flag = FlagForm(
            level=str(sent.get("level") or ""),
            reasons=[str(r) for r in sent.getall("reasons", [])],
            comment=str(sent.get("comment") or ""),
        )
        back = href(
            f"/console/nights/{quote(site, safe='')}/{night.isoformat()}", observation=str(observation)
        )
        try:
            await console.flag(observation, flag)
        except ApiProblem as problem:
            view = await console.night(site, night, observation)
            view.form, view.refused = flag, problem
            return _night_page(caller, view, status=problem.status if problem.status < 500 else 502)
        saved = back + "&saved=true#flag"
        return Redirect(saved, status_code=303, media_type="text/html", headers={"Cache-Control": "no-store"})
