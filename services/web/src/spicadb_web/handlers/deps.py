"""What every page is given: the visitor (their token verified here too: defence in depth) and the
console bound to them. Without a token, or with one that no longer works, the visitor is sent to sign in
and back to the page (the kit's safe_next rule)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from litestar.di import NamedDependency, Provide
from litestar.response import Redirect

from spicadb_kit.auth import TokenVerifier, bearer_token
from spicadb_kit.context import ServiceContext
from spicadb_kit.errors import Problem
from spicadb_kit.redirects import safe_next

from ..api import Api
from ..config import WebSettings
from ..services.caller import Caller
from ..services.console import Console
from ..services.programmes import ProgrammesConsole
from ..services.session import ApiSession

# the service's context: its settings typed, its API client as its state
WebContext = ServiceContext[WebSettings, Api]


class NeedsSignIn(Exception):
    """The page needs a signed-in visitor."""


def sign_in(request: Request[Any, Any, Any]) -> Redirect:
    """To the gateway's browser login, back to this page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = safe_next(here)
    return Redirect(
        "/auth/login?" + urlencode({"next": target}), status_code=303, headers={"Cache-Control": "no-store"}
    )


async def provide_caller(request: Request[Any, Any, Any]) -> Caller:
    authorization = request.headers.get("authorization")
    if not authorization:
        raise NeedsSignIn
    verifier: TokenVerifier = request.app.state.verifier
    try:
        token = bearer_token(authorization)
        principal = await verifier.verify(token)
    except Problem as exc:
        raise NeedsSignIn from exc
    caller = Caller(principal, token, request.headers.get("x-request-id"))
    request.state.caller = caller  # an error page still shows whom it speaks to
    return caller


def provide_session(caller: NamedDependency[Caller], context: NamedDependency[WebContext]) -> ApiSession:
    """The APIs as this visitor calls them; each area's console is built on it."""
    return ApiSession(context.state, caller, context.settings.page_size)


def area(console: Callable[[ApiSession], Any]) -> Provide:
    """The ``console`` dependency of one area's controller: its services class on the visitor's session."""

    def provide(session: NamedDependency[ApiSession]) -> Any:
        return console(session)

    return Provide(provide, sync_to_thread=False)


DEPENDENCIES = {
    "caller": Provide(provide_caller),
    "session": Provide(provide_session, sync_to_thread=False),
    "console": area(Console),
}
provide_programmes = area(ProgrammesConsole)
