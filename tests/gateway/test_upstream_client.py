"""The gateway's upstream client on its own, against a raw asyncio server that answers each request with
scripted bytes: interim 1xx answers, answers without a body (204, 304, HEAD), chunked bodies with
extensions and trailers, bodies delimited by the connection's close, bad framing, and keep-alive
connections the upstream closed while they were idle. Each answer is also sent a byte at a time, so
that the parser is fed however the bytes happen to arrive."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator

import pytest
from spicadb_gateway.policy import Upstream
from spicadb_gateway.upstream import HIGH_WATER, MAX_HEAD, UpstreamClient, UpstreamUnreachable

# the server closes the connection instead of answering (a keep-alive connection it dropped)
HANG_UP = b""


class RawUpstream:
    """Answers the requests it reads, in order, with the scripted bytes (whatever the connection)."""

    def __init__(self, *answers: bytes, dribble: bool = False) -> None:
        self.answers = deque(answers)
        self.dribble = dribble
        self.connections = 0
        self.hung_up = asyncio.Event()  # a connection has ended on the server's side
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> RawUpstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    @property
    def upstream(self) -> Upstream:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return Upstream.parse("raw", f"http://127.0.0.1:{port}")

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.lower().split(b"\r\n"):
                    if line.startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.popleft()
                if answer == HANG_UP:
                    break
                await self._write(writer, answer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
            self.hung_up.set()

    async def _write(self, writer: asyncio.StreamWriter, answer: bytes) -> None:
        close = answer.endswith(b"\x00close")
        if close:
            answer = answer[: -len(b"\x00close")]
        if self.dribble:
            for i in range(len(answer)):
                writer.write(answer[i : i + 1])
                await writer.drain()
                await asyncio.sleep(0)
        else:
            writer.write(answer)
            await writer.drain()
        if close:
            writer.close()


def then_close(answer: bytes) -> bytes:
    """The answer, then the server closes the connection."""
    return answer + b"\x00close"


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


@contextlib.asynccontextmanager
async def serving(*answers: bytes, dribble: bool) -> AsyncIterator[tuple[RawUpstream, UpstreamClient]]:
    server = await RawUpstream(*answers, dribble=dribble).start()
    client = UpstreamClient(pool_size=4, connect_timeout=5.0, timeout=5.0)
    try:
        yield server, client
    finally:
        await client.aclose()
        await server.stop()


async def fetch(
    server: RawUpstream, client: UpstreamClient, method: bytes = b"GET", body: bytes = b""
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    headers = [(b"host", b"raw")]
    if body or method in (b"POST", b"PUT"):
        headers.append((b"content-length", str(len(body)).encode()))
    response = await client.send(server.upstream, method, b"/answer", headers, body)
    try:
        received = b"".join([chunk async for chunk in response.chunks()])
    finally:
        await response.aclose()
    return response.status, response.headers, received


dribbled = pytest.mark.parametrize("dribble", [False, True], ids=["whole", "byte-by-byte"])


@dribbled
async def test_interim_answers_are_skipped(dribble: bool) -> None:
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>\r\n\r\n"
    answer = interim + b"HTTP/1.1 201 Created\r\nLocation: /answer/1\r\nContent-Length: 4\r\n\r\nmade"
    async with serving(answer, OK, dribble=dribble) as (server, client):
        status, headers, body = await fetch(server, client, b"POST", b"{}")
        assert (status, body) == (201, b"made")
        assert (b"location", b"/answer/1") in headers
        assert all(name != b"link" for name, _ in headers)  # the interim answer's headers are not its
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 1


@dribbled
@pytest.mark.parametrize(
    ("method", "answer"),
    [
        (b"DELETE", b"HTTP/1.1 204 No Content\r\n\r\n"),
        (b"GET", b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 120\r\n\r\n'),
        (b"HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n\r\n"),
        (b"HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
    ],
    ids=["204", "304", "HEAD", "HEAD-chunked"],
)
async def test_answers_without_a_body(dribble: bool, method: bytes, answer: bytes) -> None:
    async with serving(answer, OK, dribble=dribble) as (server, client):
        status, _, body = await fetch(server, client, method)
        assert body == b""
        assert status == int(answer[9:12])
        # the connection is reused, and the next answer is read from its own start
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 1


@dribbled
async def test_chunked_answer_with_extensions_and_trailers(dribble: bool) -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
        b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: 3e25960a\r\n\r\n"
    )
    async with serving(answer, OK, dribble=dribble) as (server, client):
        status, _, body = await fetch(server, client)
        assert (status, body) == (200, b"hello world")
        # the trailers are read to their end: the next answer on the connection is whole
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 1


@dribbled
@pytest.mark.parametrize("version", [b"HTTP/1.1", b"HTTP/1.0"])
async def test_answer_delimited_by_close(dribble: bool, version: bytes) -> None:
    answer = then_close(version + b" 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end")
    async with serving(answer, OK, dribble=dribble) as (server, client):
        status, _, body = await fetch(server, client)
        assert (status, body) == (200, b"until the end")
        # that connection is over: the next request opens another
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 2


@dribbled
@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: -4\r\n\r\n",
    ],
    ids=["not-a-number", "two-lengths", "negative"],
)
async def test_bad_content_length_is_an_unreachable_upstream(dribble: bool, head: bytes) -> None:
    async with serving(then_close(head + b"body!"), OK, dribble=dribble) as (server, client):
        with pytest.raises(UpstreamUnreachable):
            await fetch(server, client)
        # the gateway goes on: the next request gets a connection of its own
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")


@dribbled
@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Le",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=["length-cut-short", "chunk-cut-short", "bad-chunk-size", "head-cut-short", "not-http"],
)
async def test_broken_answers_are_an_unreachable_upstream(dribble: bool, answer: bytes) -> None:
    async with serving(then_close(answer), OK, dribble=dribble) as (server, client):
        with pytest.raises(UpstreamUnreachable):
            await fetch(server, client)
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")


async def test_a_keep_alive_connection_closed_while_idle_is_not_reused() -> None:
    async with serving(then_close(OK), OK, dribble=False) as (server, client):
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        # the upstream has hung up (whether or not the client has seen it yet, the next request works)
        await server.hung_up.wait()
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 2


async def test_a_stale_keep_alive_connection_is_retried_once_for_an_idempotent_request() -> None:
    # the upstream reads the second request on the kept-alive connection and hangs up (its idle
    # timeout raced the request): a GET is sent once more on a fresh connection
    async with serving(OK, HANG_UP, OK, dribble=False) as (server, client):
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 2
        assert len(server.requests) == 3


async def test_a_stale_keep_alive_connection_is_not_retried_for_a_post() -> None:
    async with serving(OK, HANG_UP, OK, dribble=False) as (server, client):
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        with pytest.raises(UpstreamUnreachable):
            await fetch(server, client, b"POST", b"{}")
        assert len(server.requests) == 2  # sent once: the upstream may have acted on it
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
async def test_a_large_answer_arrives_whole_and_the_connection_is_kept(chunked: bool) -> None:
    # larger than what the client holds before it stops reading the socket
    body = bytes(range(256)) * (3 * HIGH_WATER // 256)
    if chunked:
        parts = [body[i : i + 100_000] for i in range(0, len(body), 100_000)]
        framed = b"".join(b"%x\r\n%b\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"
        answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + framed
    else:
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%b" % (len(body), body)
    async with serving(answer, OK, dribble=False) as (server, client):
        status, _, received = await fetch(server, client)
        assert status == 200
        assert received == body
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 1


async def test_an_answer_head_too_large_is_an_unreachable_upstream() -> None:
    head = b"HTTP/1.1 200 OK\r\nX-Padding: " + b"a" * (MAX_HEAD + 1) + b"\r\nContent-Length: 2\r\n\r\nok"
    async with serving(head, OK, dribble=False) as (server, client):
        with pytest.raises(UpstreamUnreachable):
            await fetch(server, client)
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")


async def test_a_switch_of_protocols_ends_the_connection() -> None:
    # the gateway forwards no Upgrade: a 101 is passed on as an answer without a body, and the
    # connection, now in another protocol, is never reused
    answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x00"
    async with serving(answer, OK, dribble=False) as (server, client):
        status, _, body = await fetch(server, client)
        assert (status, body) == (101, b"")
        assert await fetch(server, client) == (200, [(b"content-length", b"2")], b"ok")
        assert server.connections == 2
