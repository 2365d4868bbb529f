"""This service's own token verifier (userinfo, the admin API): the kit's, fed from the key ring
instead of an HTTP JWKS, plus a revocation check. The kit takes it when the app is built, before
the pool exists: the start hook attaches the pool."""

from __future__ import annotations

import contextlib

import asyncpg

from spicadb_kit.auth import Principal, TokenVerifier, invalid_token

from .config import AuthSettings
from .keys import KeyRing
from .models import now
from .services.tokens import RevocationList


class NotStarted(RuntimeError):
    pass


class LocalTokenVerifier(TokenVerifier):
    def __init__(self, settings: AuthSettings, keyring: KeyRing) -> None:
        super().__init__(issuer=settings.issuer, audience=settings.token_audience, jwks_url=None)
        self.keyring = keyring
        self._pool: asyncpg.Pool | None = None

    def attach(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise NotStarted("the auth service has not started")
        return self._pool

    async def verify(self, token: str) -> Principal:
        self._keys = self.keyring.verification_keyset(now())
        principal = await super().verify(token)
        if principal.token_id and await RevocationList(self.pool).denies(principal.token_id):
            raise invalid_token("token revoked")
        return principal

    async def refresh(self) -> None:
        # an unknown kid: another replica may have published a key since we last looked
        with contextlib.suppress(Exception):
            await self.keyring.reload_if_older_than(self.pool, self.refresh_interval)
        self._keys = self.keyring.verification_keyset(now())
