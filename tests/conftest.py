"""Shared fixtures: the probe service against the session's real PostgreSQL and NATS."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext

sys.path.insert(0, str(Path(__file__).parent / "support"))

from harness import Probe

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
