"""Fixtures of the oidb tests: the service in a fresh database per test."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from nats.js import JetStreamContext
from oidb_support import OidbService

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture
async def service(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[OidbService]:
    installed = OidbService(database, nats_server.url, tokens, jetstream)
    await installed.install()
    yield installed
    await installed.close()
