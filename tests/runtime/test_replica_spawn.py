"""The runtime's supervisor starts a service's replicas (components of their own name and URL) each on its
own port, logging to its own file, both sharing the service's database and durable consumer (the fault
suite of `make chaos` runs every service so). Before: every replica started on the service's one port
(the second could not bind) and wrote the same log."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import httpx
import pytest
from nats.js import JetStreamContext
from probe_service.spec import SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer, PostgresCluster, free_port
from spicadb_kit.runtime.supervisor import Component, Platform
from spicadb_kit.settings import RuntimeSettings
from spicadb_kit.testing.services import migrate

SUPPORT = Path(__file__).parent.parent / "support"

pytestmark = pytest.mark.timeout(120)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/health/ready", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


async def test_two_replicas_of_a_service_each_on_its_own_port(
    database: str,
    pg_cluster: PostgresCluster,
    nats_server: NatsServer,
    jetstream: JetStreamContext,
    infra_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await migrate(database, [SPEC])
    await provision(jetstream, [SPEC])
    monkeypatch.setenv("PYTHONPATH", str(SUPPORT))
    monkeypatch.setenv("SPICADB_SERVICES", "probe_service.spec:SPEC")
    settings = RuntimeSettings(
        data=str(infra_dir / f"replicas-{time.monotonic_ns()}"),
        pg_port=pg_cluster.port,
        pg_database=database.rsplit("/", 1)[1],
        nats_port=nats_server.port,
        nats_monitor_port=nats_server.monitor_port,
    )
    platform = Platform(settings, [SPEC])
    (platform.data / "logs").mkdir(parents=True)
    replicas = [Component(f"probe-{i}", f"http://127.0.0.1:{free_port()}", spec=SPEC) for i in (1, 2)]
    try:
        for replica in replicas:
            platform.spawn(replica)
        deadline = time.monotonic() + 60
        while not all(_ready(r.url) for r in replicas) and time.monotonic() < deadline:
            assert all(r.proc is not None and r.proc.poll() is None for r in replicas), "a replica exited"
            await asyncio.sleep(0.3)
        assert all(_ready(r.url) for r in replicas)
        assert sorted(p.name for p in (platform.data / "logs").iterdir()) == ["probe-1.log", "probe-2.log"]
    finally:
        for replica in replicas:
            if replica.proc is not None and replica.proc.poll() is None:
                os.kill(replica.proc.pid, signal.SIGTERM)
                replica.proc.wait(20)
