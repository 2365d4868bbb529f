"""A request that finds the database away (PostgreSQL restarted or down) answers 503 with a problem
document and Retry-After, not a 500: nothing was done and the same request succeeds once the database is
back. Found by the fault suite (`make chaos`: night logs, flags and DRS pushes answered 500 while
PostgreSQL restarted). Before: 500 internal."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from harness import Probe
from nats.js import JetStreamContext

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.plugin import start_cluster
from spicadb_kit.testing.tokens import TokenFactory

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def own_postgres(infra_dir: Path) -> Iterator[PostgresCluster]:
    # a cluster of the test's own: it is stopped mid-test (under the session folder: postgres reaches it)
    cluster = start_cluster(infra_dir / f"pg-away-{uuid.uuid4().hex[:8]}")
    yield cluster
    cluster.stop()


async def test_a_write_while_the_database_is_away_is_a_503_problem_then_succeeds(
    own_postgres: PostgresCluster, nats_server: NatsServer, jetstream: JetStreamContext, tokens: TokenFactory
) -> None:
    writer = {"Authorization": "Bearer " + tokens.mint("probe:write", "probe:read")}
    admin = await asyncpg.connect(own_postgres.dsn())
    try:
        await admin.execute("CREATE DATABASE away")  # the cluster is the test's: dropped with it
    finally:
        await admin.close()
    probe = Probe(own_postgres.dsn("away"), nats_server.url, tokens)
    await probe.install(jetstream)
    await probe.close()  # the test's own pool: not a user of the database while it is away
    async with probe.running() as client:
        assert (await client.post("/pings", json={"id": "before"}, headers=writer)).status_code == 201
        own_postgres.stop()
        try:
            away = await client.post("/pings", json={"id": "away"}, headers=writer)
        finally:
            own_postgres.start()
        assert away.status_code == 503, away.text
        assert away.headers["content-type"].startswith("application/problem+json")
        assert away.headers["retry-after"] == "1"
        problem = away.json()
        assert (problem["status"], problem["type"].rsplit("/", 1)[1]) == (503, "service-unavailable")
        assert "database" in problem["detail"]
        again = await client.post("/pings", json={"id": "away"}, headers=writer)
        assert again.status_code == 201, again.text
