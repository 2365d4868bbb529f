"""Ways to find and move the leader of a stream on a NATS cluster (see tests/cluster/conftest.py)."""

from __future__ import annotations

import json

from harness import eventually
from nats.aio.client import Client
from nats.js import JetStreamContext

from spicadb_kit.events.bus import Bus
from spicadb_kit.infra import NatsCluster, NatsServer


async def stream_leader(js: JetStreamContext, stream: str) -> str | None:
    """The node leading a stream (None while an election is under way)."""
    try:
        info = await js.stream_info(stream)
    except Exception:
        return None
    return info.cluster.leader if info.cluster else None


def connected_node(cluster: NatsCluster, bus: Bus) -> NatsServer:
    """The node a service's connection is on now."""
    assert bus.nc is not None
    assert bus.nc.connected_url is not None
    port = bus.nc.connected_url.port
    return next(server for server in cluster.servers if server.port == port)


async def lead_stream_from(nc: Client, js: JetStreamContext, stream: str, node: NatsServer) -> None:
    """Have ``node`` lead the stream (a leader stepdown with a preferred successor)."""
    if await stream_leader(js, stream) == node.server_name:
        return
    request = json.dumps({"placement": {"preferred": node.server_name}}).encode()
    await nc.request(f"$JS.API.STREAM.LEADER.STEPDOWN.{stream}", request, timeout=5)

    async def leads() -> bool:
        return await stream_leader(js, stream) == node.server_name

    await eventually(leads, timeout=15)


async def caught_up(js: JetStreamContext, stream: str) -> bool:
    """Whether every replica of the stream besides its leader is current."""
    info = await js.stream_info(stream)
    peers = info.cluster.replicas or [] if info.cluster else []
    return len(peers) == (info.config.num_replicas or 1) - 1 and all(peer.current for peer in peers)
