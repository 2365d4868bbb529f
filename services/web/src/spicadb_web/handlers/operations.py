"""The platform's operations pages, for admins: every service's health (ready or not, what is stuck, lag
per consumer, outbox backlog, dead letters) and every service's dead letters with a Replay button each.
They read the services' operator routes (the kit's, admin scope); a visitor who is no admin gets the
403 page and no link."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect

from ..api import ApiProblem
from ..rendering import HTML, href, page
from ..services.caller import Caller
from ..services.operations import OUTCOMES, SERVICES, LetterQuery, OperationsConsole, known
from .common import ANSWERS, WRITE_ANSWERS, ConsoleController, Cursor, html_answer
from .deps import area

Service = Annotated[str | None, QueryParameter(max_length=40, description="only this service's letters")]
Replayed = Annotated[bool, QueryParameter(description="the replayed letters too, not only the open ones")]
Letter = Annotated[int | None, QueryParameter(ge=1, le=2**63 - 1, description="the letter just replayed")]
Outcome = Annotated[str | None, QueryParameter(max_length=20, description="what its replay did")]
BAD_FILTER = {400: html_answer("A filter out of its range or a cursor no page gave: a page saying which")}


def _admin(caller: Caller) -> None:
    if not caller.is_admin:  # a fresh problem each time: a shared one would keep its last traceback alive
        raise ApiProblem(403, "Forbidden", "The platform's health and dead letters are for administrators.")


async def _letters_page(
    caller: Caller,
    console: OperationsConsole,
    query: LetterQuery,
    *,
    status: int = 200,
    done: dict[str, Any] | None = None,
    refused: ApiProblem | None = None,
) -> Response[str]:
    listing = await console.letters(query)
    if done is not None:  # why a replay did not apply it: the letter's last replay error
        done["detail"] = next(
            (
                letter.get("replay_error")
                for part in listing
                if part.name == done["service"]
                for letter in part.letters
                if letter.get("id") == done["letter"] and done["outcome"] != "replayed"
            ),
            None,
        )
    return page(
        "admin_dead_letters.html",
        status=status,
        caller=caller,
        listing=listing,
        query=query,
        services=list(SERVICES),
        done=done,
        refused=refused,
        section="admin",
    )


class OperationsPages(ConsoleController):
    """The platform's health and its dead letters (admins only)."""

    dependencies = {"console": area(OperationsConsole)}

    @get("/console/admin/health", operation_id="consoleAdminHealth", media_type=HTML, responses=ANSWERS)
    async def health(
        self, caller: NamedDependency[Caller], console: NamedDependency[OperationsConsole]
    ) -> Response[str]:
        """Every service's readiness, asked at once: ready or not and why, outbox backlog, each
        consumer's lag, dead letters; a service that does not answer is shown down."""
        _admin(caller)
        health = await console.health()
        return page("admin_health.html", caller=caller, health=health, section="admin")

    @get(
        "/console/admin/dead-letters",
        operation_id="consoleAdminDeadLetters",
        media_type=HTML,
        responses={**ANSWERS, **BAD_FILTER},
    )
    async def dead_letters(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[OperationsConsole],
        service: Service = None,
        replayed: Replayed = False,
        cursor: Cursor = None,
        of: Service = None,
        letter: Letter = None,
        outcome: Outcome = None,
    ) -> Response[str]:
        """Every service's dead letters (or one service's, paged), open ones unless ``replayed``; each
        with a Replay button. ``of``, ``letter`` and ``outcome`` report the replay just done."""
        _admin(caller)
        if service:
            known(service)
        done = None
        if of in SERVICES and letter is not None and outcome in OUTCOMES:
            done = {"service": of, "letter": letter, "outcome": outcome}
        return await _letters_page(caller, console, LetterQuery(service or "", replayed, cursor), done=done)

    @post(
        "/console/admin/dead-letters/{service:str}/{letter:int}/replay",
        operation_id="consoleAdminReplayDeadLetter",
        status_code=303,
        responses={
            **WRITE_ANSWERS,
            303: ResponseSpec(None, description="Replayed or not: to the dead letters"),
        },
    )
    async def replay(
        self,
        caller: NamedDependency[Caller],
        console: NamedDependency[OperationsConsole],
        service: FromPath[str],
        letter: FromPath[int],
    ) -> Response[Any]:
        """The Replay button of one letter (sent by the console's script with the session's
        X-CSRF-Token; the letter is named by its path): replayed through the service's API, then the dead
        letters again with the outcome (303); a letter the API refuses (replayed already, unknown) shows
        the page with the problem's title."""
        _admin(caller)
        known(service)
        try:
            answer = await console.replay(service, letter)
        except ApiProblem as problem:
            status = problem.status if problem.status < 500 else 502
            return await _letters_page(caller, console, LetterQuery(), status=status, refused=problem)
        back = href(
            "/console/admin/dead-letters",
            of=service,
            letter=letter,
            outcome=str(answer.get("outcome") or ""),
        )
        return Redirect(
            back + f"#letter-{quote(service)}-{letter}",
            status_code=303,
            media_type="text/html",
            headers={"Cache-Control": "no-store"},
        )
