"""One keep-alive connection to an upstream: an asyncio Protocol that writes requests and parses each
answer with httptools (llhttp) as its bytes arrive.

llhttp frames the answer (RFC 9112 §6.3): interim 1xx answers, no body for 204 and 304, chunked bodies
(extensions and trailers), Content-Length (a malformed or conflicting one is an error), else until the
connection closes. Two things it cannot know and this class tells it: that the request was HEAD (its
answer has no body whatever its headers say), and that the connection ended (httptools has no
``finish``), which ends a body delimited by the close and cuts any other short.

Back-pressure: the socket stops being read while more than ``HIGH_WATER`` bytes of body wait.
"""

from __future__ import annotations

import asyncio
import collections

import httptools

from .errors import Closed, Malformed

HIGH_WATER = 256 * 1024
MAX_HEAD = 64 * 1024


class Connection(asyncio.Protocol):
    __slots__ = (
        "_body",
        "_buffered",
        "_complete",
        "_drain",
        "_error",
        "_head_done",
        "_head_only",
        "_head_size",
        "_keep_alive",
        "_parser",
        "_paused_reading",
        "_received",
        "_stray",
        "_waiter",
        "closed",
        "eof",
        "headers",
        "idle_since",
        "loop",
        "status",
        "transport",
        "write_paused",
    )

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.eof = False
        self.closed = False
        self.write_paused = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused_reading = False
        # the answer being read
        self._parser: httptools.HttpResponseParser | None = None
        self._head_only = False
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self._head_done = False
        self._complete = False
        self._keep_alive = False
        self._received = 0  # bytes of this answer so far
        self._head_size = 0  # bytes of its header fields so far
        self._body: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._error: str | None = None
        self._stray = False  # bytes that belong to no answer: never reused

    # --- the client's side ---

    @property
    def usable(self) -> bool:
        """Still open and clean (an idle connection the pool may hand out)."""
        return not self.eof and not self.closed and not self._stray

    @property
    def reusable(self) -> bool:
        """The answer was read to its end and the connection may carry another request."""
        return self._complete and self._keep_alive and self._error is None and self.usable

    def expect(self, method: bytes) -> None:
        """Ready for the answer to the request about to be written."""
        # llhttp starts over by itself after a whole answer; not after HEAD's (it waits for the body)
        if self._parser is None or self._head_only:
            self._parser = httptools.HttpResponseParser(self)
        self._head_only = method == b"HEAD"
        self.status = 0
        self.headers = []
        self._head_done = self._complete = self._keep_alive = False
        self._received = self._head_size = 0

    async def read_head(self, timeout: float) -> None:
        """Until the final answer's status and headers are in (``Closed``: nothing came back)."""
        while not self._head_done:
            if self._error is not None:
                raise Malformed(self._error)
            if self.eof:
                if self._received:
                    raise Malformed("answer cut short in its head")
                raise Closed()
            await self._wait(timeout)

    async def read_body(self, timeout: float) -> bytes | None:
        """The body received since the last call (waiting for some); None at its end."""
        while True:
            body = self._body
            if body:
                data = body.popleft() if len(body) == 1 else b"".join(body)
                body.clear()
                self._buffered = 0
                return data
            if self._error is not None:
                raise Malformed(self._error)
            if self._complete:
                return None
            if self.eof:
                if self._delimited_by_close():
                    self._complete = True
                    return None
                raise Malformed("answer cut short")
            await self._wait(timeout)

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise Closed()
        self.transport.write(data)

    async def drain(self, timeout: float) -> None:
        if not self.write_paused:
            return
        if self.closed:
            raise Closed()
        self._drain = self.loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._drain
        finally:
            self._drain = None

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    async def _wait(self, timeout: float) -> None:
        """Until more bytes arrive or the connection ends."""
        if self._paused_reading and self.transport is not None:
            self._paused_reading = False
            self.transport.resume_reading()
        self._waiter = self.loop.create_future()
        try:
            async with asyncio.timeout(timeout):
                await self._waiter
        finally:
            self._waiter = None

    def _delimited_by_close(self) -> bool:
        """The answer's body ends with the connection (neither a length nor chunked, RFC 9112 §6.3)."""
        for name, value in self.headers:
            if name == b"content-length" or (
                name == b"transfer-encoding" and value.rstrip().lower().endswith(b"chunked")
            ):
                return False
        return True

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- asyncio's callbacks ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport subclasses

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None or self._complete or self._error is not None:
            self._stray = True  # nothing was asked, or the answer is over
            return
        self._received += len(data)
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # 101 Switching Protocols: the gateway passes no other protocol; the connection is spent
            self._complete = self._head_done = self._stray = True
        except httptools.HttpParserError as exc:
            if self._error is None:
                self._error = f"malformed answer ({exc or type(exc).__name__})"
        if not self._head_done and self._received > MAX_HEAD and self._error is None:
            self._error = "answer head too large"
        if self._buffered > HIGH_WATER and not self._paused_reading and self.transport is not None:
            self._paused_reading = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.eof = True
        self._wake()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.closed = True
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(Closed())
            self._drain.exception()  # retrieved: nobody may be waiting any more

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # --- httptools' callbacks ---

    def on_message_begin(self) -> None:
        if self._head_done:  # a second answer to one request
            self._stray = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._head_done:  # trailers are dropped: the gateway's ASGI answers carry none
            return
        # a whole head in one read never reaches data_received's check
        self._head_size += len(name) + len(value) + 4
        if self._head_size > MAX_HEAD:
            self._error = "answer head too large"
            raise Malformed(self._error)  # llhttp stops: feed_data raises HttpParserCallbackError
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        assert parser is not None
        if self._head_done:  # the head of a stray answer
            return
        status = parser.get_status_code()
        if 100 <= status < 200 and status != 101:
            self.headers = []  # interim (100 Continue, 103 Early Hints): the final answer follows
            return
        self.status = status
        self._head_done = True
        if self._head_only:
            self._complete = True
            self._keep_alive = parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self._complete:  # a body after the head of a HEAD answer
            self._stray = True
            return
        self._body.append(body)
        self._buffered += len(body)

    def on_message_complete(self) -> None:
        if not self._head_done or self._complete:  # an interim answer, or HEAD's
            return
        assert self._parser is not None
        self._complete = True
        self._keep_alive = self._parser.should_keep_alive()
