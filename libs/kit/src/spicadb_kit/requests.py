"""Request ids: taken from ``X-Request-ID`` when a trusted proxy set one, made otherwise,
returned in the response and bound to every log line of the request."""

from __future__ import annotations

import re
import uuid
from array import array
from itertools import accumulate
from typing import Any, cast
from urllib.parse import parse_qsl

import msgspec
import structlog
from litestar import Litestar, Request
from litestar.datastructures import MutableScopeHeaders
from litestar.exceptions import MethodNotAllowedException
from litestar.handlers import HTTPRouteHandler
from litestar.types import (
    ASGIApp,
    HTTPRequestEvent,
    HTTPResponseBodyEvent,
    HTTPScope,
    Message,
    Receive,
    ReceiveMessage,
    Scope,
    Send,
)
from litestar.utils import normalize_path

from .errors import FieldError, Problem
from .problems import VALIDATION

__all__ = [
    "HEADER",
    "MAX_JSON_DEPTH",
    "head_as_get",
    "input_guard",
    "json_too_deep",
    "request_id_middleware",
]

HEADER = "x-request-id"
_SAFE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """Give every HTTP request an id (a safe incoming X-Request-ID, else a new one): in the scope, in
    every log line of the request and in the answer's headers."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) != "http":
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(HEADER.encode(), b"").decode("latin-1")
        request_id = incoming if _SAFE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableScopeHeaders.from_message(message)[HEADER] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            await app(scope, receive, send_with_id)

    return middleware


# --- input that no service can hold ----------------------------------------------------------------
# PostgreSQL's text cannot hold a NUL (asyncpg's CharacterNotInRepertoireError), and msgspec decodes
# JSON recursively (RecursionError past Python's limit): both are refused here, before any handler,
# with a 400 naming where they are. Streamed bodies (routes without a body limit) are the handler's.

MAX_JSON_DEPTH = 64
_BRACKETS = bytes(range(256)).translate(None, b"[]{}")  # every byte but the four, to delete
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_FORM = "application/x-www-form-urlencoded"


def _refused(detail: str, fields: list[str], message: str) -> Problem:
    errors = [FieldError(field=f, message=message) for f in fields]
    return VALIDATION(detail, errors=errors)


def _printable(text: str) -> str:
    return text.replace("\x00", "\\0")


def _nul_in_form(encoded: bytes, source: str) -> Problem | None:
    if b"%00" not in encoded and b"\x00" not in encoded:
        return None
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True)
    fields = [f"{source}.{_printable(k)}" for k, v in pairs if "\x00" in k or "\x00" in v] or [source]
    return _refused(
        f"{', '.join(fields)}: a NUL character (%00) is not allowed", fields, "NUL character (%00)"
    )


def _depth(brackets: bytes) -> int:
    return max(accumulate(array("b", brackets.translate(_SIGNS))), default=0)


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON document nests arrays and objects deeper than ``limit``. First every bracket
    summed as +1/-1, in C (a 12 MB list in about 50 ms): at most ``limit`` is the answer (closing
    brackets inside strings could hide depth, but then msgspec's own RecursionError is a 400 too).
    Above it, rarely (brackets inside strings, or a deep document), the document is decoded and its
    containers walked."""
    if body.count(b"[") + body.count(b"{") <= limit or _depth(body.translate(None, _BRACKETS)) <= limit:
        return False
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        return True
    except msgspec.DecodeError:
        return False  # not JSON: the handler's decoder says so
    containers: list[tuple[Any, int]] = [(value, 1)]
    while containers:
        item, depth = containers.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > limit:
            return True
        containers.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return False


def _holds_nul(body: bytes) -> bool:
    """Whether a JSON document writes a NUL (``\\u0000``, not an escaped backslash before ``u0000``)."""
    # backslashes pair from the left in a JSON string: what is left of a run escapes the next byte
    return b"\\u0000" in body and b"\\u0000" in body.replace(b"\\\\", b"")


def _nul_path(value: Any, at: str) -> str | None:
    """Where the first string holding a NUL is, as ``body.targets[3].name``."""
    if isinstance(value, str):
        return at if "\x00" in value else None
    items: Any = (
        value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    )
    for key, item in items:
        if isinstance(key, str) and "\x00" in key:
            return at
        where = _nul_path(item, f"{at}[{key}]" if isinstance(key, int) else f"{at}.{_printable(key)}")
        if where:
            return where
    return None


def _check_json(body: bytes) -> Problem | None:
    if json_too_deep(body):
        return _refused(
            f"body: JSON nested deeper than {MAX_JSON_DEPTH} levels is not accepted",
            ["body"],
            f"nested deeper than {MAX_JSON_DEPTH} levels",
        )
    if not _holds_nul(body):
        return None
    try:
        where = _nul_path(msgspec.json.decode(body), "body") or "body"
    except msgspec.DecodeError:
        where = "body"
    return _refused(f"{where}: a NUL character (\\u0000) is not allowed", [where], "NUL character (\\u0000)")


def _body_kind(scope: Scope) -> str | None:
    """How the handler will read the body: ``json``, ``form``, ``text``, or None (not buffered here)."""
    handler = scope.get("route_handler")
    if handler is None or not isinstance(handler, HTTPRouteHandler):
        return None
    if handler.resolve_request_max_body_size() is None:  # streamed without limit: the handler's own
        return None
    media = dict(scope["headers"]).get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
    if media == _FORM:
        return "form"
    if media == "application/json" or media.endswith("+json"):
        return "json"
    # Litestar decodes a `data` argument as JSON whatever the announced type (but forms)
    if "data" in handler.parsed_fn_signature.parameters and not media.startswith("multipart/"):
        return "json"
    if media.startswith("text/"):  # CSV target lists and night logs
        return "text"
    return None


def _nul_in_text(body: bytes) -> Problem | None:
    at = body.find(b"\x00")
    if at < 0:
        return None
    line = body.count(b"\n", 0, at) + 1
    return _refused(
        f"body: a NUL byte (line {line}) is not allowed in text", ["body"], f"NUL byte on line {line}"
    )


def input_guard(app: ASGIApp) -> ASGIApp:
    """Route middleware: refuse a NUL in the path or the query, and in JSON, form and text bodies
    (read once here within the route's body limit, then handed on), and JSON nested too deeply."""

    async def guard(scope: Scope, receive: Receive, send: Send) -> None:
        if str(scope["type"]) == "http":
            if "\x00" in scope["path"]:
                raise _refused("path: a NUL character (%00) is not allowed", ["path"], "NUL character (%00)")
            problem = _nul_in_form(scope.get("query_string", b""), "query")
            if problem:
                raise problem
            kind = _body_kind(scope)
            if kind is not None:
                body = await Request[Any, Any, Any](scope, receive).body()
                problem = (
                    _check_json(body)
                    if kind == "json"
                    else _nul_in_form(body, "body")
                    if kind == "form"
                    else _nul_in_text(body)
                )
                if problem:
                    raise problem
                receive = _replay(body, receive)
        await app(scope, receive, send)

    return guard


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, once, then the connection's own messages (a disconnect)."""
    pending = True

    async def again() -> ReceiveMessage:
        nonlocal pending
        if pending:
            pending = False
            return HTTPRequestEvent(type="http.request", body=body, more_body=False)
        return await receive()

    return again


def head_as_get(app: Litestar, handler: ASGIApp) -> ASGIApp:
    """HEAD on a GET route answered as the GET, without its body: the gateway lets HEAD through
    wherever it lets GET. Routes that declare HEAD themselves (downloads) keep their own."""

    def get_only(path: str) -> bool:
        try:
            app.asgi_router.handle_routing(path=path, method="HEAD")
        except MethodNotAllowedException:
            try:
                app.asgi_router.handle_routing(path=path, method="GET")
            except Exception:  # no GET either: the router's own answer
                return False
            return True
        except Exception:  # no such route: the router's own answer
            return False
        return False

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        method = scope.get("method") if str(scope["type"]) == "http" else None
        if method != "HEAD" or not get_only(normalize_path(scope["path"])):
            await handler(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = HTTPResponseBodyEvent(
                    type="http.response.body", body=b"", more_body=message.get("more_body", False)
                )
            await send(message)

        await handler(cast("HTTPScope", {**scope, "method": "GET"}), receive, without_body)

    return middleware
