"""What every controller of the console shares: the answers a page may give besides itself (in the
OpenAPI document), the query parameters' bounds, and the way an API's refusal becomes a page (its
problem's title), a refused token a new sign-in, a form without the session's token "Nothing was saved".

A new area of the console is a ``ConsoleController`` of its own module (handlers/<area>.py) with its data
in services/<area>.py and its templates; app.py lists the controllers."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from litestar import Controller, Request, Response
from litestar.openapi import ResponseSpec
from litestar.params import QueryParameter

from spicadb_kit.redirects import safe_next

from ..api import ApiProblem, SignInAgain
from ..rendering import HTML, page
from .deps import NeedsSignIn, sign_in


def html_answer(description: str) -> ResponseSpec:
    """An answer that is a page (documented by its description; its HTML has no schema)."""
    return ResponseSpec(str, generate_examples=False, description=description, media_type=HTML)


# what every page may answer besides itself (documented in the service's OpenAPI document)
ANSWERS = {
    303: ResponseSpec(None, description="No working session: to /auth/login?next=<this page>"),
    # lost.py makes Litestar's own 400 (a parameter out of its bounds) a page for a browser
    400: html_answer("A parameter out of its bounds or of the wrong type: a page naming it (to a browser)"),
    403: html_answer("The API refused the visitor: a page with the API problem's title and detail"),
    404: html_answer("The API knows no such object the visitor may see: a page with its problem's title"),
    502: html_answer("The platform could not be reached: a page saying so"),
    504: html_answer("The platform did not answer in time: a page saying so"),
}
# what a form that writes may answer besides its redirect
WRITE_ANSWERS = {
    **ANSWERS,
    403: html_answer(
        "Sent without the visitor's token (no script, so no X-CSRF-Token; or the session ended): nothing "
        "saved, a page saying why; or the API refused the visitor: its problem's title"
    ),
    409: html_answer("The API refused the change (a conflict): the page again with the problem's title"),
    422: html_answer("The API refused the values: the page again with the problem's title and wrong fields"),
}

Text = Annotated[str | None, QueryParameter(max_length=200)]
Cursor = Annotated[str | None, QueryParameter(max_length=2000)]


def problem_page(request: Request[Any, Any, Any], problem: ApiProblem) -> Response[str]:
    caller = getattr(request.state, "caller", None)  # set by the caller dependency
    # an API's own failure is the platform's (502) to the visitor, never this page's 500
    status = problem.status if problem.status < 500 or problem.status in (502, 504) else 502
    return page("problem.html", status=status, caller=caller, problem=problem, section=None)


def to_sign_in(request: Request[Any, Any, Any], _: Exception) -> Response[Any]:
    if request.method == "POST":
        return not_saved(request)
    return sign_in(request)


def not_saved(request: Request[Any, Any, Any]) -> Response[str]:
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


class ConsoleController(Controller):
    """A part of the console: anonymous for the kit's token middleware (a visitor without a token is
    sent to sign in by the ``caller`` dependency, not answered 401); the APIs' refusals as pages."""

    opt = {"anonymous": True}
    tags = ["console"]
    exception_handlers = {
        NeedsSignIn: to_sign_in,
        SignInAgain: to_sign_in,
        ApiProblem: problem_page,
    }
