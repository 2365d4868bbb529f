"""Fixtures of the oifits tests: the service in a fresh database per test, its file store in a folder of
the test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nats.js import JetStreamContext
from oifits_support import OifitsService

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture
async def service(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory, tmp_path: Path
) -> AsyncIterator[OifitsService]:
    installed = OifitsService(database, nats_server.url, tokens, jetstream, tmp_path / "store")
    await installed.install()
    yield installed
    await installed.close()
