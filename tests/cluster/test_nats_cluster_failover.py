"""A three-node NATS cluster on loopback: streams with 3 replicas, the stream leader killed (SIGKILL)
mid-flow while the probe service publishes through its outbox and relay and consumes its own
events. Nothing is lost, nothing applied twice, and the service is ready again without a hand.

The cluster is the test's own (the session's single server stays untouched).
"""

from __future__ import annotations

import asyncio
import os
import sys
from typing import Any

import pytest
from cluster_support import caught_up, connected_node, lead_stream_from, stream_leader
from harness import Probe, eventually
from nats.aio.client import Client
from nats.js import JetStreamContext
from probe_service.service import PingService
from probe_service.spec import EFFECTS, SPEC, STREAM

from spicadb_kit.events import Outbox
from spicadb_kit.events.bus import nats_servers
from spicadb_kit.events.provision import ProvisionError, provision
from spicadb_kit.infra import NatsCluster, NatsServer
from spicadb_kit.settings import ServiceSettings, SettingsError
from spicadb_kit.testing.tokens import TokenFactory

pytestmark = pytest.mark.slow

EVENTS = 300  # 60 transactions of 5 events, one every 0.1 s or so


async def produce(probe: Probe, transactions: int, size: int, pause: float) -> None:
    """Pings written with their events through the service's outbox, a steady flow."""
    assert probe.pool is not None
    service = PingService(probe.pool, Outbox("/spicadb/probe"))
    for t in range(transactions):
        await service.record_batch([(f"c{t}-{i}", i) for i in range(size)])
        await asyncio.sleep(pause)


def exactly_once(effects: dict[str, int], expected: int) -> None:
    assert len(effects) == expected, f"{expected - len(effects)} events lost"
    duplicated = {k: v for k, v in effects.items() if v != 1}
    assert not duplicated, f"events applied more than once: {list(duplicated)[:5]}"


async def probe_leader(js: JetStreamContext) -> str | None:
    return await stream_leader(js, STREAM.name)


async def test_streams_are_scaled_to_the_deployments_replicas(
    database: str, nats_cluster: NatsCluster, cluster_js: JetStreamContext, tokens: TokenFactory
) -> None:
    probe = Probe(database, nats_cluster.url, tokens)
    await probe.install(cluster_js)  # provisioned as declared: one replica
    assert (await cluster_js.stream_info(STREAM.name)).config.num_replicas == 1
    await provision(cluster_js, [SPEC], replicas=3)  # the existing stream is scaled, its consumer follows
    info = await cluster_js.stream_info(STREAM.name)
    assert info.config.num_replicas == 3
    assert info.cluster is not None
    assert len(info.cluster.replicas or []) == 2  # besides its leader
    consumer = await cluster_js.consumer_info(STREAM.name, EFFECTS.durable)
    assert consumer.cluster is not None
    assert len(consumer.cluster.replicas or []) == 2
    await probe.close()


async def spicadb_provision(nats_url: str, replicas: int) -> tuple[int, str]:
    """`spicadb provision` as the chart's Job runs it (every installed service); exit status, stderr."""
    env = {**os.environ, "SPICADB_NATS_URL": nats_url, "SPICADB_STREAM_REPLICAS": str(replicas)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spicadb_kit.runtime.cli",
        "provision",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    return int(proc.returncode or 0), err.decode()


async def test_spicadb_provision_replicates_every_stream_on_the_cluster(
    nats_cluster: NatsCluster, cluster_js: JetStreamContext
) -> None:
    status, err = await spicadb_provision(nats_cluster.url, 3)
    assert status == 0, err
    streams = await cluster_js.streams_info()
    assert streams
    assert {info.config.name: info.config.num_replicas for info in streams} == {
        info.config.name: 3 for info in streams
    }


async def test_spicadb_provision_says_why_a_single_server_refuses_three_replicas(
    nats_server: NatsServer, jetstream: JetStreamContext
) -> None:
    status, err = await spicadb_provision(nats_server.url, 3)
    assert status == 2
    assert "replica(s) refused by NATS" in err
    assert "Traceback" not in err


async def test_more_replicas_than_servers_is_refused_with_the_reason(
    nats_server: NatsServer, jetstream: JetStreamContext
) -> None:
    with pytest.raises(ProvisionError, match=r"SPICADB_PROBE with 3 replica\(s\) refused by NATS"):
        await provision(jetstream, [SPEC], replicas=3)


async def test_stream_leader_killed_mid_flow_loses_nothing_and_applies_nothing_twice(
    database: str,
    nats_cluster: NatsCluster,
    cluster_nc: Client,
    cluster_js: JetStreamContext,
    tokens: TokenFactory,
) -> None:
    probe = Probe(database, nats_cluster.url, tokens)
    await probe.install(cluster_js)
    await provision(cluster_js, [SPEC], replicas=3)
    async with probe.running() as client:
        producer = asyncio.create_task(produce(probe, EVENTS // 5, 5, pause=0.1))
        await probe.wait_effects(60)
        # the node the service is connected to leads the stream: its loss is felt by both
        node = connected_node(nats_cluster, client.app.state.context.bus)
        await lead_stream_from(cluster_nc, cluster_js, STREAM.name, node)
        killed = await eventually(lambda: probe_leader(cluster_js))
        assert killed == node.server_name
        assert not producer.done()  # mid-flow
        nats_cluster.kill(killed)
        successor = await eventually(lambda: probe_leader(cluster_js), timeout=30)
        assert successor != killed
        await producer  # the producer kept writing while the cluster elected a new leader
        effects = await probe.wait_effects(EVENTS, timeout=60)
        exactly_once(effects, EVENTS)
        assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0

        async def ready() -> dict[str, Any] | None:
            response = await client.get("/health/ready")
            return response.json() if response.status_code == 200 else None

        report = await eventually(ready, timeout=30)
        assert report["nats"]["connected"] is True
        assert report["nats"]["reconnects"] >= 1  # to another node of the cluster
    # the relay's retries carried their Nats-Msg-Id: the stream deduplicated them across the election
    assert (await cluster_js.stream_info(STREAM.name)).state.messages == EVENTS
    # the killed node, started again on its store, catches up with the others
    nats_cluster.restart(killed)
    await eventually(lambda: caught_up(cluster_js, STREAM.name), timeout=30)
    await probe.close()


def test_the_nats_url_may_name_every_node_of_a_cluster() -> None:
    assert nats_servers("nats://a:4222, nats://b:4222,nats://c:4222") == [
        "nats://a:4222",
        "nats://b:4222",
        "nats://c:4222",
    ]
    assert nats_servers("nats://a:4222") == ["nats://a:4222"]
    with pytest.raises(ValueError, match="no NATS server"):
        nats_servers(" , ")


def test_stream_replicas_are_a_setting_between_one_and_five() -> None:
    assert ServiceSettings.from_env({}).stream_replicas == 1
    assert ServiceSettings.from_env({"SPICADB_STREAM_REPLICAS": "3"}).stream_replicas == 3
    with pytest.raises(SettingsError, match="SPICADB_STREAM_REPLICAS"):
        ServiceSettings.from_env({"SPICADB_STREAM_REPLICAS": "7"})
