"""The console is the gateway's catch-all: a browser asking for a path nobody serves gets a page saying
so, not the kit's JSON problem (which API clients, not asking for HTML, still get). Litestar's router
does not fall back to a catch-all route beside longer ones, so the 404 is rewritten on its way out; so
is any other 4xx problem Litestar answers before a page's handler runs (a query parameter out of its
bounds: a 400 page with the problem's title and wrong fields)."""

from __future__ import annotations

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from .api import ApiProblem
from .rendering import environment

PROBLEM_JSON = b"application/problem+json"


def _wants_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers") or ()).get(b"accept", b"")
    return scope.get("method") in ("GET", "HEAD") and b"text/html" in accept


def _of_pages(scope: Scope) -> bool:
    """Whether the answer is the console's: a page's route, a static file, or no route at all (the
    catch-all). The routes answering something else keep their problem documents, as documented: the
    kit's operator API (JSON), the SAMP tables (VOTables, for applications)."""
    handler = scope.get("route_handler")
    if handler is None or str(scope.get("path", "")).startswith("/static/"):
        return True
    return str(getattr(handler, "media_type", "")).startswith("text/html")


def _problem(status: int, path: str, body: bytes) -> ApiProblem:
    if status == 404:
        return ApiProblem(404, "Not Found", f"There is no page at {path}.")
    try:
        document = msgspec.json.decode(body)
    except msgspec.DecodeError:
        document = None
    if not isinstance(document, dict):
        return ApiProblem(status, "Bad Request")
    errors = document.get("errors")
    return ApiProblem(
        status,
        str(document.get("title") or "Bad Request"),
        str(document.get("detail") or ""),
        [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else (),
    )


def _page(problem: ApiProblem) -> bytes:
    html = environment().get_template("problem.html").render(caller=None, problem=problem, section=None)
    return html.encode()


def html_not_found(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not _wants_html(scope):
            await app(scope, receive, send)
            return
        held: list[HTTPResponseStartEvent] = []
        body: list[bytes] = []

        async def send_page(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = dict(message.get("headers") or ())
                status = message["status"]
                refused = headers.get(b"content-type", b"").startswith(PROBLEM_JSON)
                if 400 <= status < 500 and refused and _of_pages(scope):
                    held.append(message)  # replaced once its body has gone by
                    return
            elif held:
                chunk = message.get("body", b"")
                body.append(chunk if isinstance(chunk, bytes) else b"")
                if not message.get("more_body", False):
                    problem = _problem(held[0]["status"], scope["path"], b"".join(body))
                    await _send_page(send, held[0], scope, problem)
                return
            await send(message)

        await app(scope, receive, send_page)

    return middleware


async def _send_page(send: Send, start: HTTPResponseStartEvent, scope: Scope, problem: ApiProblem) -> None:
    body = _page(problem)
    kept = [(k, v) for k, v in start.get("headers") or () if k not in (b"content-type", b"content-length")]
    headers = [
        *kept,
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    head = scope.get("method") == "HEAD"
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body, "more_body": False})
