""" "Send to Aspro2/TOPCAT" over SAMP: the page's script (static/samp.js) asks for a ticket for the
selected targets (a form that writes, with the session's X-CSRF-Token), then hands its URL to the SAMP
hub on the visitor's machine; the receiving application fetches the URL without any cookie."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency, Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import FromPath

from spicadb_kit.errors import FieldError, ProblemDocument, problem_response
from spicadb_kit.openapi import ProblemDetails, answers, form, takes
from spicadb_kit.problems import NOT_FOUND, VALIDATION, for_status

from ..api import ApiProblem, SignInAgain
from ..problems import NOT_SENT
from ..services.samp import MAX_TARGETS, VOTABLE, SampConsole, Ticket, TicketStore, ticket_of
from ..services.session import ApiSession
from .common import ConsoleController
from .deps import NeedsSignIn, WebContext

PROBLEM = "application/problem+json"
SAMP_FORM = takes(
    {
        "application/x-www-form-urlencoded": form(
            {
                "target": Schema(
                    type=OpenAPIType.ARRAY,
                    items=Schema(type=OpenAPIType.STRING, format="uuid"),  # type: ignore[arg-type]
                    min_items=1,
                    max_items=MAX_TARGETS,
                    description="the selected targets' ids (the field repeated)",
                )
            },
            required=("target",),
        )
    },
    "the selected targets, sent by the console's script with the session's X-CSRF-Token header",
)


def _problem_answer(description: str) -> ResponseSpec:
    return ResponseSpec(ProblemDetails, description=description, media_type=PROBLEM, generate_examples=False)


TICKET_ANSWERS = {
    400: _problem_answer("No target, more than the bound, or an id that is not one (`errors` names it)"),
    403: _problem_answer(
        "Sent without the session's token (no script, or the session ended), or refused by the API"
    ),
    404: _problem_answer("No such programme the visitor may see"),
    413: _problem_answer("The table would be too large to keep"),
    502: _problem_answer("The platform could not be reached"),
    503: _problem_answer("Too many tables wait to be fetched: try again in a few minutes"),
    504: _problem_answer("The platform did not answer in time"),
}


def _json_problem(request: Request[Any, Any, Any], status: int, title: str, detail: str,
                  errors: list[FieldError] | None = None) -> Response[bytes]:  # fmt: skip
    kind = for_status(status)  # the API's title kept: the visitor reads it
    document = ProblemDocument(
        type=kind.uri,
        title=title,
        status=status,
        detail=detail or None,
        instance=request.url.path,
        errors=errors,
    )
    return Response(
        document.encode(), status_code=status, media_type=PROBLEM, headers={"Cache-Control": "no-store"}
    )


def refused(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[bytes]:
    """The API's refusal as this route's problem document (its title, detail and wrong fields)."""
    status = problem.status if problem.status < 500 or problem.status in (502, 503, 504) else 502
    errors = [FieldError(str(e.get("field", "")), str(e.get("message", ""))) for e in problem.errors]
    return _json_problem(request, status, problem.title, problem.detail, errors or None)


def not_sent(request: Request[Any, Any, Any], _: Exception) -> Response[bytes]:
    """Without the session's token (the gateway passes it only with the X-CSRF-Token header): nothing
    is kept, and the script says why."""
    problem = NOT_SENT(
        "This button works through the console's script with your session: JavaScript may be off, or your "
        "session has ended. Sign in again and send the targets again.",
        headers={"Cache-Control": "no-store"},
    )
    return problem_response(request, problem)


def provide_samp(session: NamedDependency[ApiSession], context: NamedDependency[WebContext]) -> SampConsole:
    return SampConsole(session, TicketStore(context.pool), context.settings.public_url)


def _targets(values: list[str]) -> list[UUID]:
    if not values:
        raise VALIDATION(
            "select at least one target", errors=[FieldError("body.target", "no target selected")]
        )
    if len(values) > MAX_TARGETS:
        raise VALIDATION(
            f"at most {MAX_TARGETS} targets at once",
            errors=[FieldError("body.target", f"{len(values)} targets: at most {MAX_TARGETS}")],
        )
    try:
        return list(dict.fromkeys(UUID(v) for v in values))
    except ValueError:
        raise VALIDATION(
            "a target is named by its id", errors=[FieldError("body.target", "not a target id")]
        ) from None


class SampSend(ConsoleController):
    """A ticket for the visitor's selected targets."""

    dependencies = {"console": Provide(provide_samp, sync_to_thread=False)}
    exception_handlers = {NeedsSignIn: not_sent, SignInAgain: not_sent, ApiProblem: refused}

    @post(
        "/console/programmes/{code:str}/samp",
        operation_id="consoleSampTicket",
        status_code=201,
        opt=SAMP_FORM,
        responses=TICKET_ANSWERS,
    )
    async def ticket(
        self, request: Request[Any, Any, Any], console: NamedDependency[SampConsole], code: FromPath[str]
    ) -> Response[Ticket]:
        """The programme's Aspro2 VOTable of the selected targets, as the visitor may see them, kept a few
        minutes at an anonymous URL for a SAMP application to fetch (``table.load.votable``'s url,
        table-id and name). A target the visitor may not see is not in the table."""
        sent = await request.form()
        targets = _targets([str(v) for v in sent.getall("target", [])])
        ticket = await console.ticket(code, targets)
        return Response(ticket, status_code=201, headers={"Cache-Control": "no-store"})


class SampTables(Controller):
    """The tables kept for SAMP applications: anonymous (the application has no cookie), by ticket."""

    opt = {"anonymous": True}
    tags = ["console"]

    @get(
        "/console/samp/{file:str}",
        operation_id="consoleSampTable",
        opt=answers(VOTABLE),
        responses={404: _problem_answer("No such ticket, or it expired (a few minutes)")},
    )
    async def table(self, context: NamedDependency[WebContext], file: FromPath[str]) -> Response[bytes]:
        """``<ticket>.vot``: the VOTable a visitor sent over SAMP, while its ticket lives (a few minutes);
        404 afterwards. No cookie needed: the ticket is the right to read it."""
        ticket = ticket_of(file)
        kept = await TicketStore(context.pool).votable(ticket) if ticket else None
        if kept is None:
            raise NOT_FOUND("no such table: its ticket is unknown or expired (send the targets again)")
        return Response(
            kept,
            media_type=VOTABLE,
            headers={"Cache-Control": "no-store", "Content-Disposition": f'inline; filename="{file}"'},
        )
