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
- ``cut``: the link is down and says so: every open connection is reset and new ones are accepted and
  closed at once, until :meth:`LinkProxy.restore`;
- ``partition``: the link is down silently: not a byte passes, on open connections or new ones (held, as
  a SYN is retransmitted), and nobody is told; after :meth:`LinkProxy.restore` they go on where they
  stopped (TCP retransmits), unless their ends gave up meanwhile.

The proxy runs in the event loop of whoever starts it (``async with LinkProxy(...)``), or in a thread of
its own (:class:`LinkThread`) for a caller whose loop blocks. It is a test tool: `make chaos` puts it
between the services and their servers; its own tests are in tests/kit.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

__all__ = ["Link", "LinkConditions", "LinkProxy", "LinkStats", "LinkThread", "through"]

T = TypeVar("T")

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

    async def _until_flowing(self) -> None:
        """Hold while a partition lasts (or until this connection is reset)."""
        if not self.proxy.is_partitioned:
            return
        waits = {asyncio.ensure_future(self.proxy.flowing()), asyncio.ensure_future(self.closed.wait())}
        _, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()

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
            await self._until_flowing()
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
        self._flowing = asyncio.Event()  # cleared by a partition
        self._flowing.set()
        self._stopped = False
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()
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
    def is_partitioned(self) -> bool:
        return not self._flowing.is_set()

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
        self._flowing.set()  # what a partition holds ends, reset
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

    def cut(self) -> None:
        """The link goes down: open connections are reset; new ones are closed at once."""
        self._cut = True
        self._reset_all()

    def partition(self) -> None:
        """The link goes silent: no byte passes on open or new connections, and no end is told (their
        clients wait for their own timeouts) until :meth:`restore`."""
        self._flowing.clear()

    def restore(self) -> None:
        """The link is up again (with the conditions it had): after a cut new connections are taken,
        after a partition the bytes held go on."""
        self._cut = False
        self._flowing.set()

    async def flowing(self) -> None:
        """Return when no partition holds the bytes."""
        await self._flowing.wait()

    def url(self, url: str) -> str:
        """``url`` (a DSN or a NATS URL naming the upstream) with the proxy's address instead."""
        return through(url, self.port)

    def _reset_all(self) -> None:
        for connection in list(self._connections):
            self.stats.resets += 1
            connection.reset()

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
            writer.transport.abort()
            return
        await self._flowing.wait()  # a partition: the client's connection waits, unanswered
        if self._stopped:
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
        if self._stopped or self._cut:  # while it was connecting
            connection.reset()
        try:
            await asyncio.gather(connection.pump(reader, up_writer), connection.pump(up_reader, writer))
        finally:
            self._connections.discard(connection)
            for end in connection.ends:
                end.close()


class LinkThread:
    """Proxies on an event loop of their own, in a daemon thread: for callers whose own loop blocks (an
    in-process app's test client starting it, a platform starting processes). ``open`` a proxy as a
    :class:`Link`, driven from any thread; ``stop`` stops every proxy, then the thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="chaos-links", daemon=True)
        self.thread.start()
        self.links: list[Link] = []

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    def call(self, act: Callable[[], T]) -> T:
        async def acting() -> T:
            return act()

        return self.run(acting())

    def open(self, host: str, port: int, *, seed: int) -> Link:
        link = Link(self, self.run(LinkProxy(host, port, seed=seed).start()))
        self.links.append(link)
        return link

    def stop(self) -> None:
        for link in self.links:
            self.run(link.proxy.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Link:
    """One proxy of a :class:`LinkThread`, driven from any thread: each call acts on the proxy's loop
    and returns once done."""

    def __init__(self, owner: LinkThread, proxy: LinkProxy) -> None:
        self.owner = owner
        self.proxy = proxy

    @property
    def port(self) -> int:
        return self.proxy.port

    def degrade(self, **changes: Any) -> LinkConditions:
        return self.owner.call(lambda: self.proxy.degrade(**changes))

    def heal(self) -> None:
        self.owner.call(self.proxy.heal)

    def cut(self) -> None:
        self.owner.call(self.proxy.cut)

    def partition(self) -> None:
        self.owner.call(self.proxy.partition)

    def restore(self) -> None:
        self.owner.call(self.proxy.restore)

    def stats(self) -> LinkStats:
        return self.owner.call(lambda: replace(self.proxy.stats))


def through(url: str, port: int) -> str:
    """A DSN or NATS URL with its host and port replaced by ``127.0.0.1:port`` (user, path, query kept)."""
    parts = urlsplit(url)
    user = parts.netloc.rpartition("@")[0]
    netloc = f"{user}@127.0.0.1:{port}" if user else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))
