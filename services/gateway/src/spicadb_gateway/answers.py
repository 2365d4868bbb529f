"""Answers the gateway makes or finishes itself: RFC 9457 problems, and the common headers added to
the answers of its own routes."""

from __future__ import annotations

from html import escape
from typing import Any

from spicadb_kit.errors import PROBLEM_MEDIA_TYPE, Problem

from .asgi import Headers, Scope, Send
from .headers import GATEWAY_HTML_CSP


def problem_body(problem: Problem, path: str, request_id: str) -> bytes:
    return problem.document(instance=path, request_id=request_id).encode()


async def send_problem(send: Send, problem: Problem, path: str, request_id: bytes, extra: Headers) -> None:
    body = problem_body(problem, path, request_id.decode())
    headers = [
        (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
        (b"content-length", str(len(body)).encode()),
        *[(k.lower().encode(), v.encode("latin-1")) for k, v in problem.headers.items()],
        *extra,
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · SPICA-DB</title></head>
<body><main><h1>{title}</h1>
<p class="problem" role="alert">{detail}</p>
<p><a href="/">Back to the home page</a></p></main></body></html>
"""


def wants_page(scope: Scope) -> bool:
    """A browser's visit: GET or HEAD asking for HTML."""
    accept = next((v for n, v in scope["headers"] if n == b"accept"), b"")
    return scope["method"] in ("GET", "HEAD") and b"text/html" in accept


async def send_problem_page(send: Send, problem: Problem, head: bool, extra: Headers) -> None:
    """A problem the gateway answers itself (a path no service may see), as a plain page naming it."""
    body = _PAGE.format(title=escape(problem.title), detail=escape(problem.detail or "")).encode()
    headers = [
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"content-security-policy", GATEWAY_HTML_CSP),
        (b"cache-control", b"no-store"),
        *[(name, value) for name, value in extra if name != b"content-security-policy"],  # ours is stricter
    ]
    await send({"type": "http.response.start", "status": problem.status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def decorating(send: Send, extra: Headers) -> Send:
    """Adds the common headers an answer does not set itself; gateway HTML gets a strict CSP."""

    async def decorated(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers") or [])
            present = {name.lower() for name, _ in headers}
            content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
            if content_type.startswith(b"text/html") and b"content-security-policy" not in present:
                headers.append((b"content-security-policy", GATEWAY_HTML_CSP))
                present.add(b"content-security-policy")
            headers += [(n, v) for n, v in extra if n not in present]
            message = {**message, "headers": headers}
        await send(message)

    return decorated
