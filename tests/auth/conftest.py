"""Fixtures of the auth tests: the service in a fresh database per test, and a second database
for a second instance (the upstream OpenID provider)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from auth_support import AuthService
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer, PostgresCluster


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
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_cluster.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield pg_cluster.dsn(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()
