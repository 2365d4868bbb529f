"""Shared fixtures: the probe service against the session's real PostgreSQL and NATS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from harness import Probe
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture
async def probe(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Probe]:
    harness = Probe(database, nats_server.url, tokens)
    await harness.install(jetstream)
    yield harness
    await harness.close()
