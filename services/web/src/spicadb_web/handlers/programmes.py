"""The programmes' pages: the listing with progress bars, a programme with its parts, its proposals and
its targets table (filters, sorting, keyset pages, export links), and a proposal with its moves and the
form that moves it."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from spicadb_kit.openapi import form, takes

from ..api import ApiProblem
from ..rendering import HTML, page
from ..services.caller import Caller
from ..services.programmes import (
    PROGRESS_STATES,
    TARGET_SORTS,
    TRANSITIONS,
    MoveForm,
    ProgrammesConsole,
    ProposalPage,
    TargetQuery,
)
from ..services.session import path
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, Cursor, Text
from .deps import provide_programmes

# the move form's body, as the programmes API takes a transition (which checks it)
MOVE_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "to": Schema(type=OpenAPIType.STRING, enum=list(TRANSITIONS), description="the new status"),
                "comment": Schema(type=OpenAPIType.STRING, max_length=4000, description="why"),
            },
            required=("to",),
        )
    },
    "the move form, sent by the console's script with the session's X-CSRF-Token header",
)


def _unreadable(exc: ClientException) -> ApiProblem:
    """A body that is not a form (a broken multipart one): the page says so, as the API would."""
    return ApiProblem(400, "The form could not be read", str(exc.detail))


def _proposal_page(caller: Caller, view: ProposalPage, status: int = 200) -> Response[str]:
    return page("proposal.html", status=status, caller=caller, view=view, section="programmes")


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
        imported: Annotated[
            int | None, QueryParameter(ge=0, le=10_000_000, description="the page after an import: how many")
        ] = None,
    ) -> Response[str]:
        """A programme: members, proposals and their moves, work packages with progress, the targets
        table (filters, sorting, keyset pages), its export links and, for a visitor who may add targets,
        the import. A programme the visitor may not see answers the API's problem."""
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
            imported=imported,
            section="programmes",
        )

    @get(
        "/console/programmes/{code:str}/proposals/{period:str}",
        operation_id="consoleProposal",
        media_type=HTML,
        responses=ANSWERS,
    )
    async def proposal(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[ProgrammesConsole],
        code: FromPath[str],
        period: FromPath[str],
        saved: Annotated[bool, QueryParameter(description="the page after a move was saved")] = False,
    ) -> Response[str]:
        """A proposal: its status and moves (who, when, why) and, for a visitor who may move it (its PI
        with ``programmes:write`` for the PI's moves; an admin for the committee's too), the move form."""
        view = await console.proposal(code, period)
        view.saved = saved
        return _proposal_page(caller, view)

    @post(
        "/console/programmes/{code:str}/proposals/{period:str}/transitions",
        operation_id="consoleMoveProposal",
        opt=MOVE_FORM,
        status_code=303,
        responses={**WRITE_ANSWERS, 303: ResponseSpec(None, description="Saved: to the proposal's page")},
    )
    async def move(
        self,
        request: Request[Any, Any, Any],
        caller: NamedDependency[Caller],
        console: NamedDependency[ProgrammesConsole],
        code: FromPath[str],
        period: FromPath[str],
    ) -> Response[str]:
        """The move form, sent by the console's script (with the session's X-CSRF-Token): the proposal
        moves through the programmes API, then its page shows the new status (303); a move the API
        refuses shows the page again with the problem's title and wrong fields beside the form."""
        move = MoveForm()
        try:
            sent = await request.form()
            move = MoveForm(to=str(sent.get("to") or ""), comment=str(sent.get("comment") or ""))
            await console.move(code, period, move)
        except (ApiProblem, ClientException) as refused:
            problem = refused if isinstance(refused, ApiProblem) else _unreadable(refused)
            view = await console.proposal(code, period)
            view.form, view.refused = move, problem
            return _proposal_page(caller, view, status=problem.status if problem.status < 500 else 502)
        back = "/console" + path("programmes", code, "proposals", period) + "?saved=true#moves"
        return Redirect(back, status_code=303, media_type="text/html", headers={"Cache-Control": "no-store"})
