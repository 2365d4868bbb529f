"""Two services on a three-node NATS cluster: nightlogs logs observations, obsportal makes each an
exposure of its L0 view. The node nightlogs is connected to, made the leader of the night logs'
stream, is killed (SIGKILL) while logs are posted: every logged observation reaches obsportal once,
and both services are ready again."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from cluster_support import connected_node, lead_stream_from, stream_leader
from harness import eventually
from nats.aio.client import Client
from nats.js import JetStreamContext
from nightlogs_support import NIGHT, NightLogsService, csv_log, line, post_log
from obsportal_support import ObsportalService
from spicadb_programmes.spec import SPEC as PROGRAMMES

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsCluster
from spicadb_kit.testing.tokens import TokenFactory

pytestmark = pytest.mark.slow

NIGHTS = 8
LINES = 25  # observations in each night's log
STREAM = "SPICADB_NIGHTLOGS"


async def post_nights(client: Any, nightlogs: NightLogsService) -> None:
    """One log a night, a night every 0.3 s or so."""
    for k in range(NIGHTS):
        night = NIGHT + timedelta(days=k)
        log = csv_log(*(line("Vega", -2 + 0.4 * i, night=night) for i in range(LINES)))
        posted = await post_log(client, nightlogs, log, night)
        assert posted.status_code == 201, posted.text
        await asyncio.sleep(0.3)


async def test_observations_logged_across_a_leader_kill_each_reach_the_l0_view_once(
    database: str,
    nats_cluster: NatsCluster,
    cluster_nc: Client,
    cluster_js: JetStreamContext,
    tokens: TokenFactory,
) -> None:
    nightlogs = NightLogsService(database, nats_cluster.url, tokens, cluster_js)
    obsportal = ObsportalService(database, nats_cluster.url, tokens, cluster_js)
    await provision(cluster_js, [PROGRAMMES])  # the stream of programmes both consume
    for service in (nightlogs, obsportal):
        await service.install()
    await provision(cluster_js, [PROGRAMMES, nightlogs.spec, obsportal.spec], replicas=3)
    try:
        async with nightlogs.running() as n, obsportal.running() as o:
            posting = asyncio.create_task(post_nights(n, nightlogs))
            await eventually(lambda: obsportal.scalar("SELECT count(*) >= $1 FROM exposure", LINES))
            node = connected_node(nats_cluster, n.app.state.context.bus)
            await lead_stream_from(cluster_nc, cluster_js, STREAM, node)
            assert not posting.done()  # mid-flow
            nats_cluster.kill(node.server_name or "")

            async def new_leader() -> bool:
                leader = await stream_leader(cluster_js, STREAM)
                return leader not in (None, node.server_name)

            await eventually(new_leader, timeout=30)
            await posting

            async def every_observation() -> bool:
                want = await nightlogs.scalar("SELECT count(*) FROM observation")
                have = await obsportal.scalar("SELECT count(*) FROM exposure")
                return bool(want == have == NIGHTS * LINES)

            await eventually(every_observation, timeout=60)
            logged = {r["id"] for r in await nightlogs.fetch("SELECT id FROM observation")}
            exposed = [
                r["observation_id"] for r in await obsportal.fetch("SELECT observation_id FROM exposure")
            ]
            assert sorted(exposed) == sorted(logged)  # each once, none lost
            assert await nightlogs.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
            for client in (n, o):

                async def ready(client: Any = client) -> bool:
                    return bool((await client.get("/health/ready")).status_code == 200)

                await eventually(ready, timeout=30)
    finally:
        for service in (nightlogs, obsportal):
            await service.close()
