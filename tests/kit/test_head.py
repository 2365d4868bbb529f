"""The gateway lets HEAD through wherever it lets GET: every service answers HEAD on every GET route,
with the GET's status and headers and no body, once in the kit (routes that declare HEAD themselves,
such as downloads, keep their own)."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.services import InstalledService
from spicadb_kit.testing.tokens import TokenFactory

Client = AsyncTestClient[Any]
SCOPES = ("programmes:read", "programmes:write", "nightlogs:read", "oifits:read")


@pytest.fixture
def installed(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> Callable[[str], Any]:
    @asynccontextmanager
    async def run(name: str) -> AsyncIterator[tuple[InstalledService, Client]]:
        spec = importlib.import_module(f"spicadb_{name}.spec").SPEC
        create_app = importlib.import_module(f"spicadb_{name}.app").create_app
        service = InstalledService(spec, create_app, database, nats_server.url, tokens, jetstream)
        await service.install()
        extra = (
            {"store_path": str(tmp_path / "store"), "public_url": "http://gw.test"}
            if name == "oifits"
            else {}
        )
        try:
            async with service.running(**extra) as client:
                yield service, client
        finally:
            await service.close()

    return run


async def _same_as_get(client: Client, path: str, headers: dict[str, str]) -> int:
    got = await client.get(path, headers=headers)
    head = await client.head(path, headers=headers)
    assert head.status_code == got.status_code, (path, head.status_code, got.status_code)
    assert head.content == b"", path
    assert head.headers.get("content-type") == got.headers.get("content-type"), path
    assert head.headers.get("content-length") == got.headers.get("content-length"), path
    assert head.headers.get("x-request-id"), path
    return head.status_code


@pytest.mark.parametrize(
    ("name", "paths"),
    [
        ("programmes", ["/programmes", "/programmes/LP-1", "/programmes/LP-1/targets", "/programmes/LP-9"]),
        ("nightlogs", ["/nightlogs/nights", "/nightlogs/observations"]),
        ("oifits", ["/oifits/files", "/oifits/files/00000000-0000-0000-0000-000000000001"]),
    ],
)
async def test_every_get_route_answers_head(
    installed: Callable[[str], Any], name: str, paths: list[str]
) -> None:
    async with installed(name) as (service, client):
        auth = service.auth("ada", *SCOPES)
        if name == "programmes":
            created = await client.post("/programmes", json={"code": "LP-1", "title": "Stars"}, headers=auth)
            assert created.status_code == 201, created.text
        statuses = [await _same_as_get(client, path, auth) for path in paths]
        anonymous = await client.head(paths[0])
        export = await client.head("/programmes/LP-1/targets/export?format=csv", headers=auth)
    assert 405 not in statuses
    assert 200 in statuses
    if name != "oifits":  # the oifits listing is anonymous
        assert anonymous.status_code == 401
    if name == "programmes":
        assert (export.status_code, export.content) == (200, b"")
        assert "attachment" in export.headers["content-disposition"]
