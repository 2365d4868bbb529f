"""Fixtures of the tap tests: ``tap_platform``, the tap service with the owners of the published views in one
database behind the gateway on real ports (tap_support.py), one per test module (tests make their own
programmes, unique codes, so modules' tests do not see each other's proprietary rows by accident)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from tap_support import TapPlatform, platform

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture(scope="module")
async def tap_platform(
    pg_cluster: PostgresCluster,
    nats_server: NatsServer,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[TapPlatform]:
    async with platform(pg_cluster, nats_server.url, tokens, tmp_path_factory.mktemp("tap-data")) as made:
        yield made
