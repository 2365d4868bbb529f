"""The console is the gateway's catch-all: a browser asking for a path nobody serves gets a page saying
so, not the kit's JSON problem (which API clients, not asking for HTML, still get). Litestar's router
does not fall back to a catch-all route beside longer ones, so the 404 is rewritten on its way out."""

from __future__ import annotations

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from .api import ApiProblem
from .rendering import environment

PROBLEM_JSON = b"application/problem+json"


def _wants_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or ()).get(b"accept", b"")
    return scope.get("method") in ("GET", "HEAD") and b"text/html" in accept


def _page(path: str) -> bytes:
    problem = ApiProblem(404, "Not Found", f"There is no page at {path}.")
    html = environment().get_template("problem.html").render(caller=None, problem=problem, section=None)
    return html.encode()


def html_not_found(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not _wants_html(scope):
            await app(scope, receive, send)
            return
        held: list[HTTPResponseStartEvent] = []

        async def send_page(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or ())
                if message["status"] == 404 and headers.get(b"content-type", b"").startswith(PROBLEM_JSON):
                    held.append(message)  # replaced once its body has gone by
                    return
            elif held:
                if not message.get("more_body", False):
                    await _send_page(send, held[0], scope)
                return
            await send(message)

        await app(scope, receive, send_page)

    return middleware


async def _send_page(send: Send, start: HTTPResponseStartEvent, scope: Scope) -> None:
    body = _page(scope["path"])
    kept = [(k, v) for k, v in start.get("headers") or () if k not in (b"content-type", b"content-length")]
    headers = [
        *kept,
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    head = scope.get("method") == "HEAD"
    await send({"type": "http.response.start", "status": 404, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})
