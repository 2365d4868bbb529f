"""Faults on real processes: NATS and PostgreSQL restarted, the service killed with SIGKILL.

Each test uses servers of its own so a restart disturbs nobody else.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from pathlib import Path

import asyncpg
import httpx
import nats
import pytest
from harness import Probe, eventually
from probe_service.service import PingService
from probe_service.spec import STREAM

from spicadb_kit.events import Outbox
from spicadb_kit.infra import NatsServer, PostgresCluster, free_port
from spicadb_kit.testing.plugin import start_cluster, start_nats
from spicadb_kit.testing.tokens import TokenFactory

pytestmark = pytest.mark.slow


@pytest.fixture
def own_nats(tmp_path: Path) -> Iterator[NatsServer]:
    server = start_nats(tmp_path / "nats")
    yield server
    server.stop()


@pytest.fixture
def own_cluster(infra_dir: Path) -> Iterator[PostgresCluster]:
    # under the session folder: the postgres user can reach it (pytest's tmp_path is root-only)
    cluster = start_cluster(infra_dir / f"pg-{uuid.uuid4().hex[:8]}")
    yield cluster
    cluster.stop()


async def installed_probe(admin_dsn: str, server: NatsServer, tokens: TokenFactory) -> Probe:
    probe = Probe(admin_dsn, server.url, tokens)
    nc = await nats.connect(server.url)
    await probe.install(nc.jetstream())
    await nc.close()
    return probe


async def produce(probe: Probe, batches: int, size: int, prefix: str, pause: float = 0.02) -> None:
    assert probe.pool is not None
    service = PingService(probe.pool, Outbox("/spicadb/probe"))
    for b in range(batches):
        await service.record_batch([(f"{prefix}{b}-{i}", i) for i in range(size)])
        await asyncio.sleep(pause)


def exactly_once(effects: dict[str, int], expected: int) -> None:
    assert len(effects) == expected, f"{expected - len(effects)} events lost"
    duplicated = {k: v for k, v in effects.items() if v != 1}
    assert not duplicated, f"events applied more than once: {list(duplicated)[:5]}"


async def test_nats_restarted_mid_stream_loses_nothing(
    database: str, own_nats: NatsServer, tokens: TokenFactory
) -> None:
    probe = await installed_probe(database, own_nats, tokens)
    async with probe.running():
        producer = asyncio.create_task(produce(probe, 40, 50, "n"))
        await probe.wait_effects(300)
        own_nats.kill()  # a crash, then the same server comes back on the same store
        await asyncio.sleep(1.0)
        own_nats.start()
        await producer
        effects = await probe.wait_effects(2000, timeout=60)
    exactly_once(effects, 2000)
    await probe.close()


async def stream_messages(probe: Probe) -> int:
    nc = await nats.connect(probe.nats_url)
    try:
        return int((await nc.jetstream().stream_info(STREAM.name)).state.messages)
    finally:
        await nc.close()


async def test_events_an_unclean_nats_restart_lost_are_published_again(
    database: str, own_nats: NatsServer, tokens: TokenFactory
) -> None:
    """An OS crash of the NATS server loses the acknowledged messages of its last sync_interval (a
    SIGKILL does not: the page cache survives). Simulated by putting back the store as an earlier
    fsync left it: the relay finds the stream short of what it published and publishes it again."""
    probe = await installed_probe(database, own_nats, tokens)
    on_disk = own_nats.store_dir.parent / "store-at-last-fsync"
    async with probe.running():
        await produce(probe, 2, 10, "a")
        await probe.wait_effects(20)
        await eventually(lambda: probe.scalar("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))
    own_nats.stop()
    shutil.copytree(own_nats.store_dir, on_disk)
    own_nats.start()
    async with probe.running():
        await produce(probe, 2, 10, "b")
        await probe.wait_effects(40)
        await eventually(lambda: probe.scalar("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))
        assert await stream_messages(probe) == 40
        own_nats.kill()  # the machine went down: the "b" events never reached the disk
        shutil.rmtree(own_nats.store_dir)
        shutil.copytree(on_disk, own_nats.store_dir)
        own_nats.start()
        await eventually(lambda: _equals(stream_messages(probe), 40), timeout=30)
        await produce(probe, 1, 10, "c")
        effects = await probe.wait_effects(50)
        await eventually(lambda: _equals(stream_messages(probe), 50))
    exactly_once(effects, 50)  # the "b" events arrived twice at the consumer: its inbox kept one
    await probe.close()


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def test_postgres_restart_readiness_reports_it_and_the_service_recovers(
    own_cluster: PostgresCluster, nats_server: NatsServer, jetstream: object, tokens: TokenFactory
) -> None:
    admin = await asyncpg.connect(own_cluster.dsn())
    await admin.execute("CREATE DATABASE spicadb")
    await admin.close()
    probe = await installed_probe(own_cluster.dsn("spicadb"), nats_server, tokens)
    async with probe.running() as client:
        await produce(probe, 2, 50, "before")
        await probe.wait_effects(100)
        await probe.close()
        own_cluster.stop()

        async def not_ready() -> dict[str, object] | None:
            response = await client.get("/health/ready")
            return response.json() if response.status_code == 503 else None

        report = await eventually(not_ready, timeout=15)
        assert any(p.startswith("database") for p in report["problems"]), report

        own_cluster.start()

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await eventually(ready, timeout=30)
        await probe.connect()
        await produce(probe, 2, 50, "after")
        effects = await probe.wait_effects(200, timeout=60)
    exactly_once(effects, 200)
    await probe.close()


class ServiceProcess:
    """The probe as its own OS process (uvicorn), to be killed with SIGKILL."""

    def __init__(self, probe: Probe, log: Path) -> None:
        self.probe = probe
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        support = str(Path(__file__).parent / "support")
        env = {
            **os.environ,
            "PYTHONPATH": support,
            "SPICADB_DATABASE_URL": self.probe.service_dsn,
            "SPICADB_NATS_URL": self.probe.nats_url,
            "SPICADB_ENVIRONMENT": "test",
            "SPICADB_OUTBOX_POLL_SECONDS": "0.2",
        }
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "--factory",
                    "probe_service.app:create_app",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    async def wait_ready(self) -> None:
        async def ready() -> bool:
            try:
                async with httpx.AsyncClient() as client:
                    return (await client.get(f"http://127.0.0.1:{self.port}/health/ready")).status_code == 200
            except httpx.HTTPError:
                return False

        await eventually(ready, timeout=30, interval=0.1)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
async def service_process(probe: Probe, tmp_path: Path) -> AsyncIterator[ServiceProcess]:
    process = ServiceProcess(probe, tmp_path / "service.log")
    yield process
    process.stop()


async def test_service_killed_repeatedly_still_applies_each_event_once(
    probe: Probe, service_process: ServiceProcess
) -> None:
    rng = random.Random(20261125)
    service_process.start()
    await service_process.wait_ready()
    producer = asyncio.create_task(produce(probe, 60, 50, "k", pause=0.03))
    for _ in range(3):  # relay and consumer die wherever they are: mid-publish, mid-commit, pre-ack
        await asyncio.sleep(rng.uniform(0.3, 1.0))
        service_process.kill()
        await asyncio.sleep(0.2)
        service_process.start()
        await service_process.wait_ready()
    await producer
    effects = await probe.wait_effects(3000, timeout=90)
    exactly_once(effects, 3000)
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
