"""Readiness across a silent partition (no byte passes, nobody is told: spicadb_kit.testing.proxy): the
probe service reaches PostgreSQL and NATS through a link proxy each; once the link goes silent,
/health/ready still answers, 503, naming the database and NATS, instead of waiting on them; once the
link is back the service is ready again by itself."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

import pytest
from harness import Probe, eventually

from spicadb_kit.testing.proxy import LinkThread, through

pytestmark = pytest.mark.timeout(120)


async def test_a_silent_partition_makes_readiness_answer_not_ready_naming_what_is_stuck(probe: Probe) -> None:
    db, nats = urlsplit(probe.service_dsn), urlsplit(probe.nats_url)
    links = LinkThread()  # the test client starts the app from blocking code: the proxies need their own loop
    try:
        database = links.open(db.hostname or "", db.port or 0, seed=1)
        bus = links.open(nats.hostname or "", nats.port or 0, seed=2)
        settings = {
            "database_url": through(probe.service_dsn, database.port),
            "nats_url": through(probe.nats_url, bus.port),
        }
        async with probe.running(**settings) as client:
            assert (await client.get("/health/ready")).status_code == 200
            database.partition()
            bus.partition()
            try:
                # it comes back at all (each part is bounded by 2 s; unbounded, it waited for the database's
                # 60 s command timeout, past any probe's patience)
                answer = await asyncio.wait_for(client.get("/health/ready"), 20)
                assert answer.status_code == 503, answer.text
                report: dict[str, Any] = answer.json()
                assert any(p.startswith("database:") for p in report["problems"]), report["problems"]
                assert any(p.startswith("nats:") for p in report["problems"]), report["problems"]
            finally:
                database.restore()
                bus.restore()

            async def ready() -> bool:
                return (await client.get("/health/ready")).status_code == 200

            await eventually(ready, timeout=60)
    finally:
        links.stop()
