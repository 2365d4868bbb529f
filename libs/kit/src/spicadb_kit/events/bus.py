"""The NATS connection of a service: reconnects forever, reports its state for readiness,
and tells subscribers when it came back (pull subscriptions must be re-created then)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from ..logs import get_logger

__all__ = ["DEFAULT_MAX_PAYLOAD", "Bus", "message_size", "nats_servers", "server_max_payload"]

log = get_logger(__name__)

# nats-server's default max_payload: what an event may weigh before any server said otherwise
DEFAULT_MAX_PAYLOAD = 1024 * 1024
_NATS_HEADER_LINE = len(b"NATS/1.0\r\n")
# the smallest max_payload of the servers this process's buses connected to (see server_max_payload)
_server_limit: int | None = None


def nats_servers(url: str) -> list[str]:
    """The server URLs of a ``SPICADB_NATS_URL``: one, or several comma-separated (a cluster's nodes,
    any of which the client may connect or reconnect to)."""
    servers = [part.strip() for part in url.split(",") if part.strip()]
    if not servers:
        raise ValueError("no NATS server URL given")
    return servers


def server_max_payload() -> int:
    """What one message (headers and body) may weigh on the NATS server this process connects to:
    for the outboxes created before a connection, or without a bus of their own."""
    return _server_limit or DEFAULT_MAX_PAYLOAD


def message_size(headers: Mapping[str, str] | None, payload: bytes) -> int:
    """The size NATS compares with max_payload: the encoded headers plus the body (HPUB)."""
    if not headers:
        return len(payload)
    # "k: v\r\n" per header, then "\r\n"; joined first: the relay sizes every row it publishes
    names = len("".join(headers).encode())
    values = len("".join(headers.values()).encode())
    return _NATS_HEADER_LINE + names + values + 4 * len(headers) + 2 + len(payload)


class Bus:
    """One named NATS connection with its JetStream context."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self._js: JetStreamContext | None = None
        self.reconnects = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def js(self) -> JetStreamContext:
        """The JetStream context; raises before :meth:`connect`."""
        if self._js is None:
            raise RuntimeError("bus is not connected")
        return self._js

    @property
    def max_payload(self) -> int:
        """The connected server's max_payload (it says so in its INFO; nats-py keeps it after a
        disconnection), the process-wide value before the first connection."""
        return self.nc.max_payload if self.nc is not None else server_max_payload()

    @property
    def connected(self) -> bool:
        """Whether the connection is up now (readiness)."""
        return self.nc is not None and self.nc.is_connected

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every reconnection (pull subscriptions do not survive one)."""
        self._listeners.append(listener)

    async def connect(self, timeout: float = 30.0) -> None:
        """Connect, retrying while the server is not there yet; then reconnect forever."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                self.nc = await nats.connect(
                    nats_servers(self.url),
                    name=self.name,
                    max_reconnect_attempts=-1,
                    reconnect_time_wait=0.5,
                    connect_timeout=2,
                    allow_reconnect=True,
                    disconnected_cb=self._disconnected,
                    reconnected_cb=self._reconnected,
                    error_cb=self._error,
                    closed_cb=self._closed,
                )
                break
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                log.warning("nats not reachable yet", url=self.url, error=str(exc))
                await asyncio.sleep(0.5)
        self._js = self.nc.jetstream(timeout=5)
        _note_server_limit(self.nc.max_payload)

    async def close(self) -> None:
        """Drain the connection (pending publishes and acks go out), or close it if it is broken."""
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:  # draining a broken connection: closing is what matters
                await self.nc.close()

    async def _disconnected(self) -> None:
        log.warning("nats disconnected", url=self.url)

    async def _reconnected(self) -> None:
        self.reconnects += 1
        if self.nc is not None:
            _note_server_limit(self.nc.max_payload)
        log.info("nats reconnected", url=self.url, reconnects=self.reconnects)
        for listener in self._listeners:
            listener()

    async def _error(self, exc: Exception) -> None:
        log.warning("nats error", error=repr(exc))

    async def _closed(self) -> None:
        log.info("nats connection closed")


def _note_server_limit(max_payload: int) -> None:
    global _server_limit
    _server_limit = max_payload if _server_limit is None else min(_server_limit, max_payload)
