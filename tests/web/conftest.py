"""The console's platforms (web_console.py), one per module and environment."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from web_browser import browser  # noqa: F401 (the fixture, for every browser test)
from web_console import Console, open_console, seed

from spicadb_kit.infra import NatsServer, PostgresCluster


@pytest.fixture(scope="module")
async def console(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    async with open_console(pg_cluster, nats_server, tmp_path_factory.mktemp("web-test"), "test") as platform:
        await seed(platform)
        yield platform


@pytest.fixture(scope="module")
async def production_console(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Console]:
    data = tmp_path_factory.mktemp("web-production")
    async with open_console(pg_cluster, nats_server, data, "production") as platform:
        await seed(platform)
        yield platform
