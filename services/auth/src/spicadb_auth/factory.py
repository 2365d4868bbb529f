"""The auth service's wiring (Gafaelfawr's process context and factory): the per-process
singletons, and the domain services built from them once the kit's context (the pool, the
outbox) exists. Services are built here and nowhere else; each is given only what it uses."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from spicadb_kit.events import Outbox
from spicadb_kit.runtime.serve import TrustedProxies

from .config import AuthSettings
from .keys import KeyRing
from .oauth.server import SpicaAuthorizationServer
from .passwords import Passwords
from .services.admin import Actor, AdminService
from .services.bootstrap import bootstrap
from .services.delegation import Delegation
from .services.housekeeping import Housekeeping
from .services.login import LoginService
from .services.oauth import OAuthService
from .services.tokens import Revocations
from .upstream import UpstreamProvider


@dataclass(frozen=True)
class ProcessContext:
    """What exists before the app starts: settings, the key ring (keys as last read), the
    password hasher, the trusted proxies, the upstream provider (None: no delegation)."""

    settings: AuthSettings
    keyring: KeyRing
    passwords: Passwords
    proxies: TrustedProxies
    upstream: UpstreamProvider | None

    @classmethod
    def build(
        cls, settings: AuthSettings, upstream_transport: httpx.AsyncBaseTransport | None = None
    ) -> ProcessContext:
        """``upstream_transport``: how to reach the upstream provider (None: the network)."""
        # authlib logs issued tokens at DEBUG: never let that reach the logs
        logging.getLogger("authlib").setLevel(max(logging.INFO, logging.getLogger("authlib").level))
        upstream = UpstreamProvider(settings, upstream_transport) if settings.upstream_enabled else None
        return cls(
            settings, KeyRing(settings), Passwords(), TrustedProxies(settings.forwarded_allow_ips), upstream
        )


class Factory:
    """The domain services of a started service."""

    def __init__(self, process: ProcessContext, pool: asyncpg.Pool, outbox: Outbox) -> None:
        self.process = process
        self.pool = pool
        self.outbox = outbox
        # authlib's server keeps no request state: one per process
        self.server = SpicaAuthorizationServer(process.settings, process.keyring, Revocations(outbox))

    def admin(self, actor: Actor) -> AdminService:
        p = self.process
        return AdminService(self.pool, self.outbox, p.passwords, p.keyring, actor)

    def logins(self) -> LoginService:
        return LoginService(self.pool, self.process.passwords, self.process.settings)

    def delegation(self) -> Delegation:
        p = self.process
        return Delegation(self.pool, self.outbox, p.upstream, p.settings.default_upstream_roles)

    def oauth(self) -> OAuthService:
        return OAuthService(self.pool, self.server, self.process.settings, self.process.keyring)

    def housekeeping(self) -> Housekeeping:
        return Housekeeping(self.pool, self.process.keyring, self.process.settings)

    async def bootstrap(self) -> Path | None:
        return await bootstrap(self.pool, self.outbox, self.process.passwords, self.process.settings)
