"""pytest plugin (registered by the kit): servers once per session, isolation per test.

Fixtures:
- ``pg_cluster`` / ``nats_server``: real servers on free ports, stopped by pid at the end;
- ``database``: a fresh database for one test (admin DSN), dropped afterwards;
- ``jetstream``: a connected JetStream context on a server with no streams left by others;
- ``tokens``: a :class:`TokenFactory` with a test signing key.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from ..infra import DEFAULT_PG_BIN, NatsServer, PostgresCluster, free_port
from .services import fresh_database
from .tokens import TokenFactory

# Durability is not what unit tests measure; a clean shutdown still writes everything.
TEST_PG_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "300",
}


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="spicadb-test-"))
    path.chmod(0o755)  # the postgres user must reach its data folder
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_cluster(base: Path) -> PostgresCluster:
    cluster = PostgresCluster(
        base / "pgdata",
        free_port(),
        bin_dir=Path(os.environ.get("SPICADB_PG_BIN", DEFAULT_PG_BIN)),
        settings=TEST_PG_SETTINGS,
    )
    cluster.init()
    cluster.start()
    return cluster


def start_nats(base: Path) -> NatsServer:
    server = NatsServer(base / "jetstream", free_port(), free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def pg_cluster(infra_dir: Path) -> Iterator[PostgresCluster]:
    cluster = start_cluster(infra_dir / "pg")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[NatsServer]:
    server = start_nats(infra_dir / "nats")
    yield server
    server.stop()


@pytest.fixture
async def database(pg_cluster: PostgresCluster) -> AsyncIterator[str]:
    """The admin DSN of a database created for this test alone."""
    async with fresh_database(pg_cluster) as dsn:
        yield dsn


async def delete_all_streams(js: JetStreamContext) -> None:
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await delete_all_streams(js)
    yield js
    await nc.close()


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    return TokenFactory()
