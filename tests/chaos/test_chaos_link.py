"""A slow, lossy, partitioned, then cut link between the services and PostgreSQL and NATS (`make chaos`).

Every service of the flow runs as two real processes whose database URL and NATS URL lead through a link
proxy of ours (spicadb_kit.testing.proxy, tests/support/chaos_links.py). While the flow runs (night logs
to obsportal and the oifits copy, flags, DRS pushes to the OiDB table: tests/support/chaos_flow.py) the
link is made slow (latency on every chunk, a thin bandwidth), then lossy (stalls and connections reset at
random, seeded), then silent (a partition: no byte passes, nobody is told, then the bytes go on), then
cut (every connection reset, new ones refused), and restored. Then: every event has its effect once (0 lost, 0
duplicated, flags in order), dead letters are listed by every service's operator route and each one
replays, and every service is ready again with nobody's hand. While the link is partitioned or cut, each
service's /health/ready is 503 and names what is stuck (the database, and NATS: a consumer unanswered, or
not connected)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from chaos_flow import FLOW_SERVICES, Flow, dead_letters, replay, settle
from chaos_links import LinkedPlatform

from spicadb_kit.testing.proxy import LinkThread

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

SLOW = {"latency": 0.03, "bandwidth": 512 * 1024}  # 30 ms a chunk each way, 512 KiB/s
LOSSY = {"stall_rate": 0.05, "stall_seconds": 0.4, "reset_rate": 0.01}
PHASE_SECONDS = 6.0
PARTITION_SECONDS = 8.0


@pytest.fixture(scope="module")
def linked(chaos_dir: Path) -> Iterator[LinkedPlatform]:
    """The flow's services, two replicas each, reaching PostgreSQL and NATS through a link each."""
    links = LinkThread()
    platform = LinkedPlatform(chaos_dir, FLOW_SERVICES, links, replicas=2)
    try:
        platform.start()
        yield platform
    finally:
        platform.stop()
        links.stop()


async def _stuck(platform: LinkedPlatform, within: float = 30.0) -> dict[str, str]:
    """Each service's readiness problems while the link is down (waits until every one says not ready,
    up to ``within`` seconds)."""
    deadline = time.monotonic() + within
    answers: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            for component in platform.components.values():
                if component.spec is None:
                    continue
                try:
                    answer = await client.get(f"{component.url}/health/ready")
                except httpx.HTTPError as exc:
                    answers[component.name] = f"no answer: {exc!r}"
                    continue
                if answer.status_code == 503:
                    answers[component.name] = "; ".join(answer.json()["problems"])
            if len(answers) == sum(1 for c in platform.components.values() if c.spec is not None):
                return answers
            await asyncio.sleep(0.5)
    return answers


async def test_a_slow_then_lossy_then_cut_link_loses_nothing_and_duplicates_nothing(
    linked: LinkedPlatform,
) -> None:
    platform = linked
    database, nats = platform.links
    flow = Flow(platform, tag=1, nights=12, lines=6, pushes=10, pause=0.8)
    began = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        running = asyncio.create_task(flow.run(client))
        try:
            for link in platform.links:
                link.degrade(**SLOW)
            await asyncio.sleep(PHASE_SECONDS)
            for link in platform.links:
                link.degrade(**LOSSY)
            await asyncio.sleep(PHASE_SECONDS)
            for link in platform.links:
                link.heal()
                link.partition()
            silent = await _stuck(platform, within=PARTITION_SECONDS)
            for link in platform.links:
                link.restore()
            await asyncio.sleep(PHASE_SECONDS)
            assert not running.done(), "the flow ended before the cut: make it longer"
            database.cut()
            nats.cut()
            stuck = await _stuck(platform)
            for link in platform.links:
                link.restore()
            await running
        finally:
            for link in platform.links:
                link.restore()
                link.heal()
            if not running.done():
                running.cancel()

    # while partitioned or cut: every service not ready, naming the database (and NATS once it knows)
    services = {c.name for c in platform.components.values() if c.spec is not None}
    for down in (silent, stuck):
        assert set(down) == services, down
        for name, problems in down.items():
            assert "database" in problems, (name, problems)
    assert all("nats: not connected" in problems for problems in stuck.values()), stuck

    # the faults happened
    assert database.stats().resets > 0
    assert nats.stats().resets > 0
    assert database.stats().stalls + nats.stats().stalls > 0

    # dead letters: every service lists them (each replica the same), each one replays
    replayed = 0
    for service in FLOW_SERVICES:
        listed = await dead_letters(platform, service)
        lists = list(listed.values())
        assert all(sorted(x["id"] for x in one) == sorted(x["id"] for x in lists[0]) for one in lists)
        for letter in lists[0]:
            outcome = await replay(platform, service, letter["id"])
            assert outcome["outcome"] in ("replayed", "queued"), outcome
            replayed += 1

    report = await settle(platform, flow, timeout=90)
    assert report.ok, report.summary()
    for service in FLOW_SERVICES:
        assert not any((await dead_letters(platform, service)).values()), service
    await platform.wait_ready(timeout=60)
    print(
        f"\nlink faults: {report.summary()}; {flow.retried} requests sent again; {replayed} dead letters"
        f" replayed; database link {database.stats()}; NATS link {nats.stats()};"
        f" readiness while partitioned: {silent}; while cut: {stuck}; {time.monotonic() - began:.0f} s"
    )
