"""The upstream client: one request, its answer's head read, its body streamed by the caller.

A request that fails on a reused keep-alive connection before any byte of the answer (the upstream
closed it while idle) is sent once more on a fresh one, when its method is idempotent and its body is
in memory.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from ..policy import Upstream
from .connection import Connection
from .errors import Closed, Malformed, UpstreamTimeout, UpstreamUnreachable
from .pool import Pool

IDEMPOTENT = frozenset({b"GET", b"HEAD", b"OPTIONS", b"PUT", b"DELETE", b"TRACE"})


class UpstreamResponse:
    """An upstream's answer: status and headers (names in lower case) read, body streamed by
    ``chunks()``; ``aclose()`` gives the connection back (kept alive if the answer was read whole)."""

    __slots__ = ("_conn", "_pool", "_timeout", "headers", "status")

    def __init__(self, pool: Pool, conn: Connection, timeout: float) -> None:
        self._pool = pool
        self._conn: Connection | None = conn
        self._timeout = timeout
        self.status = conn.status
        self.headers = conn.headers

    async def chunks(self) -> AsyncIterator[bytes]:
        conn = self._conn
        assert conn is not None
        try:
            while (chunk := await conn.read_body(self._timeout)) is not None:
                yield chunk
        except TimeoutError:
            raise UpstreamTimeout(f"{self._pool.upstream.name}: read timeout") from None
        except Malformed as exc:
            raise UpstreamUnreachable(f"{self._pool.upstream.name}: {exc}") from None

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, conn.reusable)


def _request_head(method: bytes, target: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    lines = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        lines += (name, b": ", value, b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


class UpstreamClient:
    def __init__(self, *, pool_size: int, connect_timeout: float, timeout: float) -> None:
        self.pool_size = pool_size
        self.connect_timeout = connect_timeout
        self.timeout = timeout
        self._pools: dict[str, Pool] = {}

    def _pool(self, upstream: Upstream) -> Pool:
        pool = self._pools.get(upstream.name)
        if pool is None:
            pool = self._pools[upstream.name] = Pool(upstream, self.pool_size, self.connect_timeout)
        return pool

    async def send(
        self,
        upstream: Upstream,
        method: bytes,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes | AsyncIterable[bytes],
        chunked: bool = False,
    ) -> UpstreamResponse:
        """Send the request and read the answer's head. ``headers`` carry the body's framing: a
        Content-Length (a streamed body is then sent as is) or, with ``chunked``, Transfer-Encoding."""
        pool = self._pool(upstream)
        pool.requests += 1
        head = _request_head(method, target, headers)
        retry = isinstance(body, bytes) and method in IDEMPOTENT
        while True:
            conn, reused = await pool.acquire(self.timeout)
            conn.expect(method)
            try:
                if isinstance(body, bytes):
                    conn.write(head + body if body else head)
                    await conn.drain(self.timeout)
                else:
                    conn.write(head)
                    await self._send_stream(conn, body, chunked)
                await conn.read_head(self.timeout)
                return UpstreamResponse(pool, conn, self.timeout)
            except Closed:
                pool.release(conn, False)
                if reused and retry:
                    retry = False
                    continue
                raise UpstreamUnreachable(f"{upstream.name}: connection closed without an answer") from None
            except Malformed as exc:
                pool.release(conn, False)
                raise UpstreamUnreachable(f"{upstream.name}: {exc}") from None
            except TimeoutError:
                pool.release(conn, False)
                raise UpstreamTimeout(f"{upstream.name}: no answer within {self.timeout}s") from None
            except BaseException:
                pool.release(conn, False)
                raise

    async def _send_stream(self, conn: Connection, body: AsyncIterable[bytes], chunked: bool) -> None:
        async for chunk in body:
            if conn.closed:
                break  # the upstream gave up (maybe answering already): read what it said
            if chunk:
                conn.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                await conn.drain(self.timeout)
        if chunked and not conn.closed:
            conn.write(b"0\r\n\r\n")

    async def aclose(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()

    def statistics(self) -> dict[str, Any]:
        return {
            name: {"connections": pool.count, "idle": len(pool.idle), "requests": pool.requests}
            for name, pool in self._pools.items()
        }
