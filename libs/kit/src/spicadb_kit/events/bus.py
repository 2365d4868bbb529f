"""The NATS connection of a service: reconnects forever, reports its state for readiness,
and tells subscribers when it came back (pull subscriptions must be re-created then)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from ..logs import get_logger

log = get_logger(__name__)


class Bus:
    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.name = name
        self.nc: Client | None = None
        self._js: JetStreamContext | None = None
        self.reconnects = 0
        self._listeners: list[Callable[[], None]] = []

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("bus is not connected")
        return self._js

    @property
    def connected(self) -> bool:
        return self.nc is not None and self.nc.is_connected

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    async def connect(self, timeout: float = 30.0) -> None:
        """Connect, retrying while the server is not there yet; then reconnect forever."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            try:
                self.nc = await nats.connect(
                    self.url,
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

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            try:
                await self.nc.drain()
            except Exception:  # draining a broken connection: closing is what matters
                await self.nc.close()

    async def _disconnected(self) -> None:
        log.warning("nats disconnected", url=self.url)

    async def _reconnected(self) -> None:
        self.reconnects += 1
        log.info("nats reconnected", url=self.url, reconnects=self.reconnects)
        for listener in self._listeners:
            listener()

    async def _error(self, exc: Exception) -> None:
        log.warning("nats error", error=repr(exc))

    async def _closed(self) -> None:
        log.info("nats connection closed")
