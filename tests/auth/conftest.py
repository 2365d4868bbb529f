"""Fixtures of the auth tests: the service in a fresh database per test, and a second database
for a second instance (the upstream OpenID provider)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from auth_support import AuthService
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.services import fresh_database


@pytest.fixture
async def auth(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[AuthService]:
    service = AuthService(database, nats_server.url, tmp_path / "data")
    await service.install(jetstream)
    yield service
    await service.close()


@pytest.fixture
async def second_database(pg_cluster: PostgresCluster) -> AsyncIterator[str]:
    async with fresh_database(pg_cluster) as dsn:
        yield dsn
