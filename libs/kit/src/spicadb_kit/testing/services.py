"""Installing services into a test database: what every service's tests need the same way."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from spicadb_contracts import Event
from spicadb_contracts.programmes import Member, ProgrammeCreated

from ..db import init_connection
from ..events.envelope import MSG_ID_HEADER, Envelope
from ..events.provision import provision
from ..infra import SUPERUSER, PostgresCluster
from ..migrate import migrate_service
from ..settings import ServiceSettings
from ..spec import ServiceSpec
from .tokens import TokenFactory

__all__ = ["InstalledService", "fresh_database", "migrate", "role_dsn", "service_pool"]


def role_dsn(admin_dsn: str, role: str) -> str:
    """The same database as ``admin_dsn``, as a service's own role (trust auth in tests)."""
    base, _, database = admin_dsn.rpartition("/")
    return base.replace(f"{SUPERUSER}@", f"{role}@") + "/" + database


@asynccontextmanager
async def fresh_database(cluster: PostgresCluster, prefix: str = "t") -> AsyncIterator[str]:
    """A database of its own (admin DSN), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield cluster.dsn(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def migrate(admin_dsn: str, specs: Sequence[ServiceSpec]) -> None:
    """Apply the services' migrations as the cluster admin, as `spicadb migrate` does."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for spec in specs:
            await migrate_service(conn, spec)
    finally:
        await conn.close()


async def service_pool(admin_dsn: str, spec: ServiceSpec, max_size: int = 4) -> asyncpg.Pool:
    """A pool as the service's role, in its schema: to look at what the service wrote."""
    pool = await asyncpg.create_pool(
        role_dsn(admin_dsn, spec.role),
        min_size=1,
        max_size=max_size,
        init=init_connection,
        server_settings={"search_path": f"{spec.schema},public"},
    )
    assert pool is not None
    return pool


class InstalledService:
    """A service installed in a test database against the session's real NATS: migrated and
    provisioned, its app on demand, tokens for its callers, and the events it consumes published as
    their producers' relays publish them. Each service's tests subclass it with their defaults."""

    # scopes of a token when a test names none
    default_scopes: tuple[str, ...] = ()

    def __init__(
        self,
        spec: ServiceSpec,
        create_app: Callable[..., Litestar],
        admin_dsn: str,
        nats_url: str,
        tokens: TokenFactory,
        js: JetStreamContext,
    ) -> None:
        self.spec = spec
        self.create_app = create_app
        self.admin_dsn = admin_dsn
        self.nats_url = nats_url
        self.tokens = tokens
        self.js = js
        self.pool: asyncpg.Pool | None = None
        self.versions: dict[tuple[str, str], int] = {}

    def settings(self, **overrides: Any) -> ServiceSettings:
        """The service's settings against the test servers (its own role, the test issuer, a quick
        relay), with ``overrides``."""
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": role_dsn(self.admin_dsn, self.spec.role),
            "nats_url": self.nats_url,
            "token_issuer": self.tokens.issuer,
            "token_audience": self.tokens.audience,
            "outbox_poll_seconds": 0.2,
            **overrides,
        }
        return self.spec.settings(**values)

    async def install(self) -> None:
        """Migrate the service's schema, provision its streams and consumers, and open an admin pool
        on it."""
        await migrate(self.admin_dsn, [self.spec])
        await provision(self.js, [self.spec])
        self.pool = await service_pool(self.admin_dsn, self.spec)

    @asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        """The service's app, started with its lifespan, behind an in-process HTTP client."""
        app = self.create_app(self.settings(**overrides), verifier=self.tokens.verifier())
        async with AsyncTestClient(app) as client:
            yield client

    def auth(self, user: str, *scopes: str, client_id: str = "spica-frontend") -> dict[str, str]:
        """Headers of a person (``user``) or a robot (``client_id`` = ``user``) with these scopes."""
        token = self.tokens.mint(*(scopes or self.default_scopes), subject=user, client_id=client_id)
        return {"Authorization": f"Bearer {token}"}

    def robot(self, name: str, *scopes: str) -> dict[str, str]:
        """The headers of a robot: a client-credentials token whose subject is the client."""
        return self.auth(name, *scopes, client_id=name)

    async def publish(self, event: Event, aggregate_id: str) -> Envelope:
        """An event on its subject as its producer's relay publishes it: envelope in the headers, the
        next version of its aggregate."""
        key = (event.aggregate, aggregate_id)
        self.versions[key] = self.versions.get(key, 0) + 1
        producer = event.subject().split(".")[1]
        envelope = Envelope.for_event(
            event,
            source=f"/spicadb/{producer}",
            aggregate_id=aggregate_id,
            aggregate_version=self.versions[key],
        )
        await self.js.publish(event.subject(), msgspec.json.encode(event), headers=envelope.headers())
        return envelope

    async def programme(
        self,
        code: str = "LP-1",
        *,
        pi: str = "ada",
        members: Sequence[str] = (),
        months: int = 18,
        title: str | None = None,
    ) -> uuid.UUID:
        """A programme announced as the programmes service does (its PI, members as viewers, its
        proprietary period): what a service with the kit's data-rights copy learns rights from."""
        programme_id = uuid.uuid4()
        event = ProgrammeCreated(
            programme_id=programme_id,
            code=code,
            title=title or f"Programme {code}",
            kind="large-programme",
            pi=pi,
            status="active",
            public=False,
            proprietary_months=months,
            members=[Member(username=pi, role="pi"), *(Member(username=m, role="viewer") for m in members)],
            created_by=pi,
            created_at=datetime.now(UTC),
        )
        await self.publish(event, str(programme_id))
        return programme_id

    async def redeliver(self, event: Event, envelope: Envelope) -> None:
        """The same event again under another message id: a copy JetStream's dedupe window cannot catch."""
        headers = {**envelope.headers(), MSG_ID_HEADER: f"{envelope.id}-again"}
        await self.js.publish(event.subject(), msgspec.json.encode(event), headers=headers)

    async def drained(self) -> bool:
        """Whether every consumer of the service has handled (acknowledged) all it was given."""
        for decl in self.spec.consumers:
            info = await self.js.consumer_info(decl.stream, decl.durable)
            if info.num_pending or info.num_ack_pending:
                return False
        return True

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        """Rows of a query on the service's schema, to check what the service wrote."""
        assert self.pool is not None
        return list(await self.pool.fetch(sql, *args))

    async def scalar(self, sql: str, *args: Any) -> Any:
        """One value of a query on the service's schema."""
        assert self.pool is not None
        return await self.pool.fetchval(sql, *args)

    async def close(self) -> None:
        """Close the admin pool."""
        if self.pool is not None:
            await self.pool.close()
