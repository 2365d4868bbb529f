"""A three-node NATS cluster of a test's own (the session's single server stays untouched)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from spicadb_kit.events.bus import nats_servers
from spicadb_kit.infra import NatsCluster


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[NatsCluster]:
    """Three nodes on loopback, stopped by pid at the end (the session's single server stays untouched)."""
    cluster = NatsCluster(tmp_path / "nats")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
async def cluster_nc(nats_cluster: NatsCluster) -> AsyncIterator[Client]:
    """The test's own connection to the cluster (any node)."""
    nc = await nats.connect(
        nats_servers(nats_cluster.url), reconnect_time_wait=0.2, max_reconnect_attempts=-1
    )
    yield nc
    await nc.close()


@pytest.fixture
def cluster_js(cluster_nc: Client) -> JetStreamContext:
    """JetStream on the cluster; short requests, as one during an election waits for nothing."""
    return cluster_nc.jetstream(timeout=2)
