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

__all__ = [
    "TEST_PG_SETTINGS",
    "database",
    "delete_all_streams",
    "infra_dir",
    "jetstream",
    "nats_server",
    "pg_cluster",
    "start_cluster",
    "start_nats",
    "tokens",
]

# Durability is not what unit tests measure; a clean shutdown still writes everything.
TEST_PG_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "synchronous_commit": "off",
    "max_connections": "300",
}


@pytest.fixture(scope="session")
def infra_dir() -> Iterator[Path]:
    """A temporary folder for the session's PostgreSQL cluster and NATS store, removed at the end."""
    path = Path(tempfile.mkdtemp(prefix="spicadb-test-"))
    path.chmod(0o755)  # the postgres user must reach its data folder
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start_cluster(base: Path) -> PostgresCluster:
    """A PostgreSQL cluster of the tests on a free port (settings for speed, not durability)."""
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
    """A NATS server with JetStream on free ports."""
    server = NatsServer(base / "jetstream", free_port(), free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def pg_cluster(infra_dir: Path) -> Iterator[PostgresCluster]:
    """The session's PostgreSQL cluster, stopped at the end."""
    cluster = start_cluster(infra_dir / "pg")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def nats_server(infra_dir: Path) -> Iterator[NatsServer]:
    """The session's NATS server, stopped at the end."""
    server = start_nats(infra_dir / "nats")
    yield server
    server.stop()


@pytest.fixture
async def database(pg_cluster: PostgresCluster) -> AsyncIterator[str]:
    """The admin DSN of a database created for this test alone."""
    async with fresh_database(pg_cluster) as dsn:
        yield dsn


async def delete_all_streams(js: JetStreamContext) -> None:
    """Delete every JetStream stream, so that a test starts from none."""
    for info in await js.streams_info():
        if info.config.name:
            await js.delete_stream(info.config.name)


@pytest.fixture
async def jetstream(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    """A JetStream context on the session's server with no stream left from an earlier test."""
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await delete_all_streams(js)
    yield js
    await nc.close()


@pytest.fixture(scope="session")
def tokens() -> TokenFactory:
    """The session's token issuer (one RSA key for every test)."""
    return TokenFactory()
