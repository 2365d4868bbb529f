"""The console's home and nights pages (the flag form among them). Each asks the console
(services/console.py) for its data and renders one template; the APIs' refusals become the page's
message (their problem's title), a refused token a new sign-in (handlers/common.py)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import quote
from uuid import UUID

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, FromQuery, QueryParameter
from litestar.response import Redirect

from spicadb_kit.openapi import form, takes

from ..api import ApiProblem
from ..rendering import HTML, href, page
from ..services.calendar import WEEKDAYS, Month, parse_month
from ..services.caller import Caller
from ..services.console import (
    FLAG_LEVELS,
    FLAG_REASONS,
    SITE,
    Console,
    FlagForm,
    NightPage,
    last_night,
    tonight,
)
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, html_answer

MonthText = Annotated[
    str | None,
    QueryParameter(max_length=16, description="the calendar's month, YYYY-MM (default: the last night's)"),
]

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


class Pages(ConsoleController):
    """Home, the nights, a night and its flag form."""

    @get("/", operation_id="consoleHome", media_type=HTML, responses=ANSWERS)
    async def home(self, caller: NamedDependency[Caller],
                   console: NamedDependency[Console]) -> Response[str]:  # fmt: skip
        """Home: who you are, your programmes, tonight's plan, the last night's log with its quality
        levels, the latest pushes and rejections (``oifits:read``)."""
        home = await console.home()
        return page("home.html", caller=caller, home=home, section="home")

    @get(
        "/console/nights",
        operation_id="consoleNights",
        media_type=HTML,
        responses={
            **ANSWERS,
            400: html_answer(
                "A month that is not YYYY-MM (2000-01 to 2100-12): a page saying so (one longer than 16 "
                "characters: the problem document)"
            ),
        },
    )
    async def nights(self, caller: NamedDependency[Caller], console: NamedDependency[Console],
                     month: MonthText = None) -> Response[str]:  # fmt: skip
        """The nights' calendar: a month's days (by default the last night's month), each night with a
        plan or a log a link with its observations by quality level, the months before and after links;
        below, the month's nights as a list."""
        shown = parse_month(month) if month else Month.of(last_night())
        grid = await console.calendar(shown, tonight())
        return page("nights.html", caller=caller, grid=grid, weekdays=WEEKDAYS, site=SITE, section="nights")

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
            if not isinstance(view.observation, dict):
                raise  # no such observation this night: no form to show the refusal beside, its own page
            view.form, view.refused = flag, problem
            return _night_page(caller, view, status=problem.status if problem.status < 500 else 502)
        saved = back + "&saved=true#flag"
        return Redirect(saved, status_code=303, media_type="text/html", headers={"Cache-Control": "no-store"})
