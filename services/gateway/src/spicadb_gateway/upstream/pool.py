"""The connections to one upstream: a LIFO stack of idle keep-alive connections, at most ``size`` open,
callers waiting in line for one when all are busy."""

from __future__ import annotations

import asyncio
import collections
import time

from ..policy import Upstream
from .connection import Connection
from .errors import UpstreamTimeout, UpstreamUnreachable

KEEPALIVE_SECONDS = 30.0  # below the services' keep-alive (61 s under `spicadb serve`): we close first


class Pool:
    def __init__(self, upstream: Upstream, size: int, connect_timeout: float) -> None:
        self.upstream = upstream
        self.size = size
        self.connect_timeout = connect_timeout
        self.idle: list[Connection] = []
        self.count = 0  # open connections: idle and in use
        self.waiters: collections.deque[asyncio.Future[Connection | None]] = collections.deque()
        self.requests = 0

    async def acquire(self, timeout: float) -> tuple[Connection, bool]:
        """A connection, and whether it served a request before."""
        now = time.monotonic()
        while self.idle:
            conn = self.idle.pop()
            if conn.usable and now - conn.idle_since < KEEPALIVE_SECONDS:
                return conn, True
            self._discard(conn)
        if self.count >= self.size:
            waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
            self.waiters.append(waiter)
            try:
                async with asyncio.timeout(timeout):
                    handed = await waiter
            except TimeoutError:
                raise UpstreamTimeout(
                    f"{self.upstream.name}: no free connection (pool of {self.size})"
                ) from None
            if handed is not None:
                return handed, True
        self.count += 1
        try:
            return await self._connect(), False
        except BaseException:
            self.count -= 1
            self._hand_over(None)
            raise

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
                    self.upstream.host.decode(),
                    self.upstream.port,
                    ssl=self.upstream.scheme == b"https" or None,
                )
        except TimeoutError:
            raise UpstreamTimeout(f"{self.upstream.name}: connect timeout") from None
        except OSError as exc:
            raise UpstreamUnreachable(f"{self.upstream.name}: {exc}") from None
        return conn

    def release(self, conn: Connection, reusable: bool) -> None:
        if reusable and conn.usable:
            if self._hand_over(conn):
                return
            conn.idle_since = time.monotonic()
            self.idle.append(conn)
            return
        self._discard(conn)
        self._hand_over(None)  # a waiter may open a connection in its place

    def _hand_over(self, conn: Connection | None) -> bool:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def _discard(self, conn: Connection) -> None:
        conn.close()
        self.count -= 1

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.count -= len(self.idle)
        self.idle.clear()
