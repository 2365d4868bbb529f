"""The programmes service installed against the session's real PostgreSQL and NATS, with tokens for
its users, and a way to publish the night-log events it consumes (as issue 5's service will)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_programmes.app import create_app
from spicadb_programmes.config import ProgrammesSettings
from spicadb_programmes.spec import NIGHT_LOGS, SPEC

from spicadb_contracts import Event
from spicadb_kit.events.envelope import Envelope
from spicadb_kit.events.provision import provision
from spicadb_kit.testing.services import migrate, role_dsn, service_pool
from spicadb_kit.testing.tokens import TokenFactory

READ_WRITE = ("programmes:read", "programmes:write")


class ProgrammesService:
    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        self.admin_dsn = admin_dsn
        self.nats_url = nats_url
        self.tokens = tokens
        self.js = js
        self.pool: asyncpg.Pool | None = None
        self.versions: dict[tuple[str, str], int] = {}

    def settings(self, **overrides: Any) -> ProgrammesSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": role_dsn(self.admin_dsn, SPEC.role),
            "nats_url": self.nats_url,
            "token_issuer": self.tokens.issuer,
            "token_audience": self.tokens.audience,
            "outbox_poll_seconds": 0.2,
        }
        values.update(overrides)
        return ProgrammesSettings(**values)

    async def install(self) -> None:
        await migrate(self.admin_dsn, [SPEC])
        await provision(self.js, [SPEC])
        self.pool = await service_pool(self.admin_dsn, SPEC)

    @asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        app = create_app(self.settings(**overrides), verifier=self.tokens.verifier())
        async with AsyncTestClient(app) as client:
            yield client

    def auth(self, user: str, *scopes: str, client_id: str = "spica-frontend") -> dict[str, str]:
        """Headers of a person (``user``) or a robot (``client_id`` = ``user``) with these scopes."""
        token = self.tokens.mint(*(scopes or READ_WRITE), subject=user, client_id=client_id)
        return {"Authorization": f"Bearer {token}"}

    async def publish(self, event: Event, aggregate_id: str) -> Envelope:
        """An event on its subject, as a producer's relay publishes it (envelope in the headers, the
        next version of its aggregate)."""
        key = (event.aggregate, aggregate_id)
        self.versions[key] = self.versions.get(key, 0) + 1
        envelope = Envelope.for_event(
            event,
            source="/spicadb/nightlogs",
            aggregate_id=aggregate_id,
            aggregate_version=self.versions[key],
        )
        await self.js.publish(event.subject(), msgspec.json.encode(event), headers=envelope.headers())
        return envelope

    async def redeliver(self, event: Event, envelope: Envelope) -> None:
        """The same event again under another message id: a copy JetStream's dedupe window cannot catch."""
        headers = {**envelope.headers(), "Nats-Msg-Id": f"{envelope.id}-again"}
        await self.js.publish(event.subject(), msgspec.json.encode(event), headers=headers)

    async def drained(self) -> bool:
        """Whether the night-log consumer has handled (acknowledged) every message of its stream."""
        stream = await self.js.stream_info(NIGHT_LOGS.stream)
        info = await self.js.consumer_info(NIGHT_LOGS.stream, NIGHT_LOGS.durable)
        return (
            info.num_pending == 0
            and info.num_ack_pending == 0
            and info.ack_floor.stream_seq == stream.state.last_seq
        )

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self.pool is not None
        return await self.pool.fetch(sql, *args)

    async def scalar(self, sql: str, *args: Any) -> Any:
        assert self.pool is not None
        return await self.pool.fetchval(sql, *args)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()


def now() -> datetime:
    return datetime.now(UTC)


# --- helpers shared by the service tests --------------------------------------------------------

PROBLEM = "application/problem+json"
EVENT_TYPE = "org.jmmc.spicadb.{}.v1"
ADMIN = "admin"

Client = AsyncTestClient[Any]


def problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The RFC 9457 problem document of ``response``, checked for its status and type."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers["content-type"]
    document: dict[str, Any] = response.json()
    assert document["status"] == status
    assert document["title"]
    if code is not None:
        assert document["type"].endswith("/" + code), document
    return document


def fields(document: dict[str, Any]) -> list[str]:
    """The fields a problem document names as wrong."""
    return [e["field"] for e in document.get("errors") or []]


async def create_programme(
    client: Client,
    service: ProgrammesService,
    code: str = "LP-1",
    *,
    pi: str = "ada",
    public: bool = False,
    members: Sequence[tuple[str, str]] = (),
    **extra: Any,
) -> dict[str, Any]:
    body = {
        "code": code,
        "title": f"Programme {code}",
        "public": public,
        "members": [{"username": u, "role": r} for u, r in members],
        **extra,
    }
    created = await client.post("/programmes/", json=body, headers=service.auth(pi))
    assert created.status_code == 201, created.text
    result: dict[str, Any] = created.json()
    return result


def star(name: str, ra: float, dec: float = 10.0, **extra: Any) -> dict[str, Any]:
    return {"name": name, "ra": ra, "dec": dec, **extra}


def stars(n: int, prefix: str = "Star", **extra: Any) -> list[dict[str, Any]]:
    """``n`` targets spread over the sky (no two within 1 arcsec): RA 0.5 + 1.4 k degrees."""
    return [star(f"{prefix} {k:05d}", round((0.5 + 1.4 * k) % 360.0, 6), -60.0 + (k * 0.37) % 120.0, **extra)
            for k in range(n)]  # fmt: skip


async def import_json(
    client: Client, service: ProgrammesService, code: str, targets: list[dict[str, Any]], user: str = "ada",
    **params: Any,
) -> Any:  # fmt: skip
    return await client.post(
        f"/programmes/{code}/targets/import",
        content=msgspec.json.encode(targets),
        headers={**service.auth(user), "Content-Type": "application/json"},
        params=params,
    )


async def outbox(service: ProgrammesService, name: str) -> list[dict[str, Any]]:
    """The payloads of the ``name`` events (e.g. ``programmes.proposal.status_changed``) in the
    service's outbox, in the order they were written."""
    rows = await service.fetch(
        "SELECT payload FROM outbox WHERE event_type = $1 ORDER BY id", EVENT_TYPE.format(name)
    )
    return [msgspec.json.decode(r["payload"]) for r in rows]
