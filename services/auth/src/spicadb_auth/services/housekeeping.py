"""The service's own clean-up, every ``key_check_seconds``: the signing key lifecycle, then
forgetting expired grants, sessions and failed sign-ins."""

from __future__ import annotations

import asyncio

import asyncpg

from spicadb_kit.logs import get_logger

from ..config import AuthSettings
from ..keys import KeyRing
from ..storage import GrantStore, SessionStore

log = get_logger(__name__)

# used codes and refresh tokens are kept a day past expiry: a late replay is still recognised as one
REPLAY_GRACE_SECONDS = 24 * 3600


class Housekeeping:
    def __init__(self, pool: asyncpg.Pool, keyring: KeyRing, settings: AuthSettings) -> None:
        self.pool = pool
        self.keyring = keyring
        self.settings = settings

    async def once(self) -> None:
        await self.keyring.maintain(self.pool)
        async with self.pool.acquire() as conn:
            await GrantStore(conn).purge_expired(grace_seconds=REPLAY_GRACE_SECONDS)
            await SessionStore(conn).purge_expired(self.settings.login_failure_window_seconds)

    async def run(self) -> None:
        """Forever (a background task of the service)."""
        while True:
            await asyncio.sleep(self.settings.key_check_seconds)
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep going: the next round may succeed (database restart)
                log.warning("auth housekeeping failed", error=repr(exc))
