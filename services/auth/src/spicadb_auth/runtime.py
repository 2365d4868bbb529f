"""The auth service's per-process singletons (a Gafaelfawr-style process context): settings,
key ring, authlib server, password hasher, login service, upstream provider, and the database
pool and outbox once the kit's context exists. Handlers receive it as the ``auth`` dependency."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg
import httpx

from spicadb_kit.auth import Principal, TokenVerifier, invalid_token
from spicadb_kit.context import ServiceContext
from spicadb_kit.events import Outbox
from spicadb_kit.logs import get_logger
from spicadb_kit.runtime.serve import TrustedProxies

from .bridge import run_in_transaction
from .config import AuthSettings
from .keys import KeyRing
from .models import now
from .oauth.server import SpicaAuthorizationServer
from .passwords import Passwords
from .services.login import LoginService
from .services.tokens import Revocations
from .storage import GrantStore, SessionStore
from .upstream import UpstreamProvider

log = get_logger(__name__)


class NotStarted(RuntimeError):
    pass


class AuthRuntime:
    def __init__(
        self, settings: AuthSettings, upstream_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.keyring = KeyRing(settings)
        self.passwords = Passwords()
        self.proxies = TrustedProxies(settings.forwarded_allow_ips)
        self.server = SpicaAuthorizationServer(self)
        self.logins = LoginService(self)
        self.upstream = UpstreamProvider(settings, upstream_transport) if settings.upstream_enabled else None
        self._pool: asyncpg.Pool | None = None
        self._outbox: Outbox | None = None
        self._revocations: Revocations | None = None
        # authlib logs issued tokens at DEBUG: never let that reach the logs
        logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").level))

    # --- what exists once the kit's context is built ---------------------------------------------

    def attach(self, context: ServiceContext) -> None:
        self._pool = context.pool
        self._outbox = context.outbox
        self._revocations = Revocations(context.outbox)

    @property
    def db(self) -> asyncpg.Pool:
        if self._pool is None:
            raise NotStarted("the auth service has not started")
        return self._pool

    @property
    def outbox(self) -> Outbox:
        if self._outbox is None:
            raise NotStarted("the auth service has not started")
        return self._outbox

    @property
    def revocations(self) -> Revocations:
        if self._revocations is None:
            raise NotStarted("the auth service has not started")
        return self._revocations

    async def run_oauth(self, fn: Any, *args: Any, request_id: str | None = None) -> Any:
        """Run one of authlib's flows in a worker thread, its storage in one transaction."""
        result, _ = await run_in_transaction(self.db, fn, *args, request_id=request_id)
        return result

    async def is_revoked(self, jti: str) -> bool:
        async with self.db.acquire() as conn:
            return await GrantStore(conn).is_revoked(jti)

    # --- background work --------------------------------------------------------------------------

    async def housekeeping(self) -> None:
        """Forever: the key lifecycle, then forget expired grants, sessions and failures."""
        s = self.settings
        while True:
            await asyncio.sleep(s.key_check_seconds)
            try:
                await self.keyring.maintain(self.db)
                async with self.db.acquire() as conn:
                    # used codes and refresh tokens are kept a day past expiry: a late replay is still
                    # recognised as one
                    await GrantStore(conn).purge_expired(grace_seconds=24 * 3600)
                    await SessionStore(conn).purge_expired(s.login_failure_window_seconds)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep going: the next round may succeed (database restart)
                log.warning("auth housekeeping failed", error=repr(exc))


class LocalTokenVerifier(TokenVerifier):
    """The kit's verifier, fed from the key ring instead of an HTTP JWKS (the auth service
    verifies the tokens it signs, for userinfo and the admin API), plus a revocation check."""

    def __init__(self, runtime: AuthRuntime) -> None:
        settings = runtime.settings
        super().__init__(issuer=settings.issuer, audience=settings.token_audience, jwks_url=None)
        self.runtime = runtime

    async def verify(self, token: str) -> Principal:
        self._keys = self.runtime.keyring.verification_keyset(now())
        principal = await super().verify(token)
        if principal.token_id and await self.runtime.is_revoked(principal.token_id):
            raise invalid_token("token revoked")
        return principal

    async def refresh(self) -> None:
        # an unknown kid: another replica may have published a key since we last looked
        with contextlib.suppress(Exception):
            await self.runtime.keyring.reload_if_older_than(self.runtime.db, self.refresh_interval)
        self._keys = self.runtime.keyring.verification_keyset(now())
