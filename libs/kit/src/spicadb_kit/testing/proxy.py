"""A TCP proxy on loopback that makes a link between a service and PostgreSQL or NATS bad on purpose.

One listener forwards every connection it accepts to one upstream address. What the link does to the bytes
is set at run time (:meth:`LinkProxy.degrade`, :meth:`LinkProxy.cut`, :meth:`LinkProxy.restore`), for the
connections open and for those to come:

- ``latency``: every chunk arrives that much later, without lowering the throughput (a long link);
- ``bandwidth``: at most that many bytes per second each way, per connection (a thin link);
- loss, as TCP shows it to the application: packets are retransmitted, so nothing is lost or reordered, but
  a direction now and then stops for a while (``stall_rate``: the share of chunks held ``stall_seconds``
  before they go on), and sometimes a connection is torn down (``reset_rate``: the share of chunks that
  reset their connection, both ends seeing it closed), decided by a seeded random generator so that a run
  can be repeated;
- ``cut``: the link is down: every open connection is reset and new ones are accepted and closed at once
  (or, with ``blackhole``, held open without a byte passing, as a silent partition does), until
  :meth:`LinkProxy.restore`.

The proxy runs in the event loop of whoever starts it (``async with LinkProxy(...)``). It is a test tool:
`make chaos` puts it between the services and their servers; its own tests are in tests/kit.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

__all__ = ["LinkConditions", "LinkProxy", "LinkStats", "through"]

# bytes read from one end at a time; a chunk is what latency, stalls and resets are counted on
CHUNK = 16 * 1024
# chunks in flight one way before the reading end waits (bounds the memory of a slow link)
IN_FLIGHT = 64


@dataclass(frozen=True)
class LinkConditions:
    """What the link does to the bytes; the default is a clean link."""

    latency: float = 0.0  # seconds added to every chunk
    bandwidth: float | None = None  # bytes per second each way, per connection (None: unlimited)
    stall_rate: float = 0.0  # share of chunks held back stall_seconds (a retransmission stall)
    stall_seconds: float = 0.5
    reset_rate: float = 0.0  # share of chunks on which the connection is reset

    def __post_init__(self) -> None:
        if self.latency < 0 or self.stall_seconds < 0:
            raise ValueError("latency and stall_seconds are durations: 0 or more")
        if self.bandwidth is not None and self.bandwidth <= 0:
            raise ValueError("bandwidth is bytes per second: more than 0 (None for unlimited)")
        for name in ("stall_rate", "reset_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share of chunks: from 0 to 1")


@dataclass
class LinkStats:
    """What the proxy did since it started (for a test to check the fault really happened)."""

    accepted: int = 0  # connections accepted
    refused: int = 0  # connections closed at once while the link was cut
    upstream_failures: int = 0  # connections whose upstream could not be reached
    resets: int = 0  # connections reset by reset_rate or by a cut
    stalls: int = 0  # chunks held back by stall_rate
    forwarded: int = 0  # bytes passed on, both ways


class _Connection:
    """One client connection and its upstream, and the two pumps between them."""

    def __init__(
        self, proxy: LinkProxy, client: asyncio.StreamWriter, upstream: asyncio.StreamWriter
    ) -> None:
        self.proxy = proxy
        self.ends = (client, upstream)
        self.closed = asyncio.Event()

    def reset(self) -> None:
        """Tear the connection down at both ends (RST: whatever was in flight is gone)."""
        if self.closed.is_set():
            return
        self.closed.set()
        for end in self.ends:
            end.transport.abort()

    async def pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        """Bytes from ``source`` to ``sink``, through the link's conditions; a reader and a writer task so
        that latency delays each chunk without holding back the ones behind it."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue(IN_FLIGHT)
        writer = asyncio.create_task(self._deliver(queue, sink))
        try:
            while not self.closed.is_set():
                data = await source.read(CHUNK)  # b"" at the end, or once the connection is reset
                if not data:
                    break
                await queue.put((time.monotonic() + self.proxy.conditions.latency, data))
        except (ConnectionError, OSError):
            self.reset()
        finally:
            # the end of the stream, after the chunks in flight (the writer drains the queue even after
            # a reset, so this never waits for ever)
            await queue.put((time.monotonic() + self.proxy.conditions.latency, b""))
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    async def _deliver(self, queue: asyncio.Queue[tuple[float, bytes]], sink: asyncio.StreamWriter) -> None:
        free_at = time.monotonic()  # when the thin link has sent what it was given
        while True:
            due, data = await queue.get()
            if not data:
                if not self.closed.is_set() and sink.can_write_eof():
                    with contextlib.suppress(ConnectionError, OSError):
                        sink.write_eof()  # a half-close goes through
                return
            if self.closed.is_set():
                continue  # reset: what was in flight is gone
            conditions, chance = self.proxy.conditions, self.proxy.chance
            if chance.random() < conditions.reset_rate:
                self.proxy.stats.resets += 1
                self.reset()
                continue
            if chance.random() < conditions.stall_rate:
                self.proxy.stats.stalls += 1
                due += conditions.stall_seconds
            if conditions.bandwidth is not None:
                free_at = max(free_at, due) + len(data) / conditions.bandwidth
                due = free_at
            if (wait := due - time.monotonic()) > 0:
                with contextlib.suppress(TimeoutError):  # a reset wakes it
                    await asyncio.wait_for(self.closed.wait(), wait)
            if self.closed.is_set():
                continue
            try:
                sink.write(data)
                await sink.drain()
            except (ConnectionError, OSError):
                self.reset()
                continue
            self.proxy.stats.forwarded += len(data)


class LinkProxy:
    """A listener on ``127.0.0.1`` (a free port) forwarding to ``upstream_host:upstream_port`` through a
    link whose conditions are set at run time. ``seed`` makes the random stalls and resets repeatable."""

    def __init__(self, upstream_host: str, upstream_port: int, *, seed: int = 0, connect_timeout: float = 5.0
                 ) -> None:  # fmt: skip
        self.upstream = (upstream_host, upstream_port)
        self.conditions = LinkConditions()
        self.chance = random.Random(seed)
        self.stats = LinkStats()
        self.connect_timeout = connect_timeout
        self._cut = False
        self._blackhole = False
        self._stopped = False
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
        self._held: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The port the proxy listens on (once started)."""
        if self._server is None:
            raise RuntimeError("the proxy is not started")
        port: int = self._server.sockets[0].getsockname()[1]
        return port

    @property
    def is_cut(self) -> bool:
        return self._cut

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    async def start(self) -> Self:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        """Stop listening and reset every connection (also the held ones and those accepted later)."""
        self._stopped = True
        if self._server is not None:
            self._server.close()
        self._reset_all()
        self._release_held()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        await self.stop()

    def degrade(self, conditions: LinkConditions | None = None, **changes: Any) -> LinkConditions:
        """Set the link's conditions (a whole :class:`LinkConditions`, or some of its fields changed); they
        apply at once, to open connections too. Returns the conditions now in force."""
        base = conditions if conditions is not None else self.conditions
        self.conditions = replace(base, **changes) if changes else base
        return self.conditions

    def heal(self) -> None:
        """A clean link again (a cut stays cut: see :meth:`restore`)."""
        self.conditions = LinkConditions()

    def cut(self, *, blackhole: bool = False) -> None:
        """The link goes down: open connections are reset; new ones are closed at once, or held open
        without a byte passing with ``blackhole`` (a silent partition: clients wait for their timeouts)."""
        self._cut, self._blackhole = True, blackhole
        self._reset_all()

    def restore(self) -> None:
        """The link is up again (with the conditions it had); connections held by a blackhole are closed
        (their clients connect again)."""
        self._cut = False
        self._release_held()

    def url(self, url: str) -> str:
        """``url`` (a DSN or a NATS URL naming the upstream) with the proxy's address instead."""
        return through(url, self.port)

    def _reset_all(self) -> None:
        for connection in list(self._connections):
            self.stats.resets += 1
            connection.reset()

    def _release_held(self) -> None:
        for held in list(self._held):
            held.transport.abort()
        self._held.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._tasks.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        if self._stopped:
            writer.transport.abort()
            return
        if self._cut:
            self.stats.refused += 1
            if self._blackhole:
                self._held.add(writer)
            else:
                writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.wait_for(
                asyncio.open_connection(*self.upstream), self.connect_timeout
            )
        except (OSError, TimeoutError):
            self.stats.upstream_failures += 1
            writer.transport.abort()
            return
        connection = _Connection(self, writer, up_writer)
        self._connections.add(connection)
        if self._stopped or (self._cut and not self._blackhole):  # while it was connecting
            connection.reset()
        try:
            await asyncio.gather(connection.pump(reader, up_writer), connection.pump(up_reader, writer))
        finally:
            self._connections.discard(connection)
            for end in connection.ends:
                end.close()


def through(url: str, port: int) -> str:
    """A DSN or NATS URL with its host and port replaced by ``127.0.0.1:port`` (user, path, query kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))
