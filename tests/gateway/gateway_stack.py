"""The stack the gateway tests run against (see conftest.py for how it is built): the gateway in front of
real upstreams on real TCP ports, and what the tests do with it (settings, clients, tokens, revocations).

Named apart from ``conftest`` on purpose (several test folders have a conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import msgspec
from gateway_support import ECHO_SPEC, ROUTED_PROBE, Echo, LocalServer
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.revocation import REVOKED_TYPE
from spicadb_gateway.spec import REVOCATION_SUBJECT
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

from spicadb_contracts.auth import TokenRevoked
from spicadb_kit.events import Envelope
from spicadb_kit.runtime.serve import HttpLimits
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.services import role_dsn
from spicadb_kit.testing.tokens import TokenFactory

FRONTEND = "http://frontend.test"
SESSION_KEY = "gateway-tests-session-key-0123456789abcdef"


@dataclass
class Stack:
    admin_dsn: str
    nats_url: str
    tokens: TokenFactory
    js: JetStreamContext
    nc: NATS
    jwks: LocalServer
    probe: LocalServer
    echo: Echo
    echo_server: LocalServer
    pool: asyncpg.Pool
    gateway: LocalServer | None = None
    extra_gateways: list[LocalServer] = field(default_factory=list)

    @property
    def url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def settings(self, **overrides: Any) -> GatewaySettings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": role_dsn(self.admin_dsn, GATEWAY_SPEC.role),
            "nats_url": self.nats_url,
            "token_issuer": self.tokens.issuer,
            "token_audience": self.tokens.audience,
            "jwks_url": self.jwks.url + "/.well-known/jwks.json",
            "upstreams": f"probe={self.probe.url},echo={self.echo_server.url}",
            "cors_origins": FRONTEND,
            "rate_limit_rate": 10_000.0,
            "rate_limit_burst": 100_000,
            "upstream_timeout": 2.0,
            "outbox_poll_seconds": 0.2,
            "revocation_poll_seconds": 0.2,
            "ingress_auth": True,
            "session_key": SESSION_KEY,
        }
        values.update(overrides)
        return GatewaySettings(**values)

    async def start_gateway(
        self, specs: list[ServiceSpec] | None = None, limits: HttpLimits | None = None, **overrides: Any
    ) -> LocalServer:
        """Another gateway replica on the stack's database, served as `spicadb serve` serves it;
        ``specs``: the services it routes; ``limits``: its HTTP server's (default: the defaults)."""
        settings = self.settings(**overrides)
        app = create_gateway(settings, specs=[*(specs or [ROUTED_PROBE, ECHO_SPEC]), GATEWAY_SPEC])
        server = await LocalServer(app, settings=settings, limits=limits or HttpLimits()).start()
        self.extra_gateways.append(server)
        return server

    def client(self, base_url: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=base_url or self.url, timeout=30, **kwargs)

    def bearer(self, *scopes: str, **claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens.mint(*scopes, **claims)}"}

    async def publish_revocation(self, jti: str, exp: int) -> None:
        """What the auth service's relay publishes when it revokes a token."""
        envelope = Envelope(
            id=uuid.uuid4(),
            type=REVOKED_TYPE,
            source="/spicadb/auth",
            subject=jti,
            time=datetime.now(UTC),
            aggregate_type="token",
            aggregate_version=1,
        )
        event = TokenRevoked(jti=jti, exp=exp, revoked_at=datetime.now(UTC), reason="revocation")
        payload = msgspec.json.encode(event)
        await self.js.publish(REVOCATION_SUBJECT, payload, headers=envelope.headers())
