"""The tap service's own state (``context.state``): the catalogue, kept current.

It is loaded at startup and refreshed every :data:`REFRESH_SECONDS` in the background, and on demand
when a query names a table the catalogue does not know yet (an owner published it a moment ago).
Each refresh regenerates TAP_SCHEMA's rows when the declarations changed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import asyncpg

from spicadb_kit.context import ServiceContext
from spicadb_kit.logs import get_logger

from .catalogue import Catalogue, load_catalogue
from .catalogue.generate import regenerate
from .config import TapSettings

__all__ = ["REFRESH_SECONDS", "TapContext", "TapState", "start_state"]

log = get_logger(__name__)

REFRESH_SECONDS = 30.0
# a query naming an unknown table refreshes at most this often (a stream of such queries must not
# become a stream of catalogue reads)
_ON_DEMAND_SECONDS = 1.0


@dataclass
class TapState:
    """What the tap service keeps for its life beside the kit's context."""

    pool: asyncpg.Pool
    catalogue: Catalogue
    _refreshed: float = field(default_factory=time.monotonic)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # documents written from the catalogue (/tap/tables), with the catalogue they were written from
    _documents: dict[str, tuple[Catalogue, bytes]] = field(default_factory=dict)

    def document(self, key: str, write: Callable[[Catalogue], bytes]) -> bytes:
        """A document written from the current catalogue, kept until the catalogue is another."""
        catalogue = self.catalogue
        kept = self._documents.get(key)
        if kept is not None and kept[0] is catalogue:
            return kept[1]
        written = write(catalogue)
        self._documents[key] = (catalogue, written)
        return written

    async def _refresh(self) -> Catalogue:
        async with self.pool.acquire() as conn:
            catalogue = await load_catalogue(conn)
            if await regenerate(conn, catalogue):
                log.info("TAP_SCHEMA regenerated", tables=len(catalogue.tables))
        if catalogue != self.catalogue:  # an equal one keeps the documents written from the last
            self.catalogue = catalogue
            self._documents.clear()
        self._refreshed = time.monotonic()
        return catalogue

    async def refresh_for_unknown(self) -> Catalogue:
        """A refresh for a query that names an unknown table, unless one happened just now (queries
        asking together share one refresh)."""
        asked = time.monotonic()
        if asked - self._refreshed < _ON_DEMAND_SECONDS:
            return self.catalogue
        async with self._lock:
            if self._refreshed >= asked:  # another query's refresh ended while this one waited
                return self.catalogue
            return await self._refresh()

    async def refresh(self) -> Catalogue:
        """Read the catalogue again (and regenerate TAP_SCHEMA if it changed); the new catalogue."""
        async with self._lock:
            return await self._refresh()


TapContext = ServiceContext[TapSettings, TapState]


async def start_state(context: TapContext) -> None:
    """Startup: load the catalogue (TAP_SCHEMA regenerated if needed), attach the state, and keep it
    current in the background."""
    async with context.pool.acquire() as conn:
        catalogue = await load_catalogue(conn)
        await regenerate(conn, catalogue)
    state = TapState(pool=context.pool, catalogue=catalogue)
    context.attach(state)
    context.spawn(_keep_current(state), "catalogue")


async def _keep_current(state: TapState) -> None:
    while True:
        await asyncio.sleep(REFRESH_SECONDS)
        try:
            await state.refresh()
        except Exception as error:  # the loop outlives any one failure
            # the database is away for a moment: keep serving the catalogue we have
            log.warning("catalogue refresh failed", error=str(error))
