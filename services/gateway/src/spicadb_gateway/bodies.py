"""The request body's framing toward the upstream, and its limit: small bodies are read first (one
write, a Content-Length), larger ones stream from ``receive`` counted against the route's limit; a
chunked body is held up to ``PREBUFFER`` first, so that a small one goes as a plain body and an
oversized one under that size never reaches the service at all."""

from __future__ import annotations

from collections.abc import AsyncIterator

from spicadb_kit.errors import Problem
from spicadb_kit.problems import BAD_REQUEST

from .asgi import Headers, Receive
from .problems import BODY_TOO_LARGE
from .request import Request

# bodies up to this size are read before the upstream is called (one write, a Content-Length)
SMALL_BODY = 64 * 1024
# a chunked body is held up to this much (or the route's limit, if smaller) before the upstream is called
PREBUFFER = 1024 * 1024


class BodyTooLarge(Exception):
    """A streamed body went past the route's limit (the upstream request is aborted: 413)."""


class ClientGone(Exception):
    """The client left while sending its body: nobody to answer."""


def too_large(limit: int) -> Problem:
    return BODY_TOO_LARGE(f"the request body exceeds this route's limit of {limit} bytes", limit=limit)


async def request_body(
    receive: Receive, request: Request, limit: int, headers: Headers
) -> tuple[bytes | AsyncIterator[bytes], bool]:
    """The body to send upstream, and whether it goes chunked; its framing header is added."""
    if request.content_length is not None and request.transfer_encoding is None:
        if not request.content_length.isdigit():
            raise BAD_REQUEST("Content-Length is not a number")
        length = int(request.content_length)
        if length > limit:
            raise too_large(limit)
        if length == 0:
            headers.append((b"content-length", b"0"))
            return b"", False
        if length <= SMALL_BODY:
            body = await _read_all(receive, limit)
            headers.append((b"content-length", str(len(body)).encode()))
            return body, False
        headers.append((b"content-length", request.content_length))
        return _stream(receive, [], 0, limit), False
    if request.transfer_encoding is None:
        return b"", False  # no body
    # chunked: hold the start of the body; a small body becomes a plain one
    held: list[bytes] = []
    size = 0
    more = True
    threshold = min(limit, PREBUFFER)
    while more and size <= threshold:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        if chunk:
            held.append(chunk)
        more = message.get("more_body", False)
    if not more:
        body = b"".join(held)
        headers.append((b"content-length", str(len(body)).encode()))
        return body, False
    headers.append((b"transfer-encoding", b"chunked"))
    return _stream(receive, held, size, limit), True


async def _read_all(receive: Receive, limit: int) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _stream(receive: Receive, held: list[bytes], size: int, limit: int) -> AsyncIterator[bytes]:
    """The request body from ``receive``, counted: past ``limit`` the upstream request is aborted."""
    for chunk in held:
        yield chunk
    held.clear()
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge()
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
