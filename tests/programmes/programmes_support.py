"""The programmes service installed against the session's real PostgreSQL and NATS, with tokens for
its users, and a way to publish the night-log events it consumes (as issue 5's service will)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from spicadb_programmes.app import create_app
from spicadb_programmes.spec import SPEC

from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

READ_WRITE = ("programmes:read", "programmes:write")


class ProgrammesService(InstalledService):
    default_scopes = READ_WRITE

    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        super().__init__(SPEC, create_app, admin_dsn, nats_url, tokens, js)


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
