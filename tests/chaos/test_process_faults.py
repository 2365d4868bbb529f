"""Process faults on a platform of real processes, every service as 2 replicas sharing their durable
consumers (``chaos_platform``): replicas killed with SIGKILL mid-flow (one of each service in turn, both
of each service, one on the flow's path every 1.5 s), NATS killed and started again mid-flow, PostgreSQL
restarted and crashed mid-flow. After each: every event of the flow has exactly one effect (0 lost, 0
duplicated, each observation's last flag wins everywhere), no request answered 500 (the database away is
a 503), the dead letters are visible through every replica's operator route, and every replica is ready
again, restarted by the supervisor, nobody's hand. A poison event planted at the start is dead-lettered by
obsportal while the faults go on; cured, it is replayed through the operator route and applied once."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import asyncpg
import httpx
import pytest
from chaos_flow import Flow, dead_letters, eventually_true, replay, settle
from chaos_platform import INSTALLED, ChaosPlatform, run_async
from nightlogs_support import NIGHT, csv_log, line

from spicadb_kit.spec import discover_services

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

# the services the flow's requests and events go through
FLOW_PATH = ("gateway", "programmes", "nightlogs", "obsportal", "oifits", "oidb")
# the services with consumers, so with dead letters (auth has none, and takes only tokens it signed)
CONSUMING = tuple(spec.name for spec in discover_services() if spec.name in INSTALLED and spec.consumers)
POISON_TARGET = "CHAOS-POISON"
# obsportal refuses the poison observation's exposure until cured: a handler that fails every delivery
_POISON = f"""
CREATE FUNCTION obsportal.chaos_poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM obsportal.target t WHERE t.id = NEW.target_id AND t.name = '{POISON_TARGET}') THEN
        RAISE EXCEPTION 'chaos: poisoned exposure';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER chaos_poison BEFORE INSERT ON obsportal.exposure
    FOR EACH ROW EXECUTE FUNCTION obsportal.chaos_poison();
"""
_CURE = "DROP TRIGGER chaos_poison ON obsportal.exposure; DROP FUNCTION obsportal.chaos_poison()"


@dataclass
class Poison:
    observation_id: str
    planted_at: float


async def _plant(platform: ChaosPlatform) -> Poison:
    conn = await asyncpg.connect(platform.database_url())
    try:
        await conn.execute(_POISON)
    finally:
        await conn.close()
    flow = Flow(platform, tag=0)
    night = NIGHT + timedelta(days=7)  # no run's nights
    async with httpx.AsyncClient(timeout=30) as client:
        answer = await flow.send(
            client,
            "nightlogs",
            "POST",
            f"/nightlogs/logs/CHARA/{night.isoformat()}",
            content=csv_log(line(POISON_TARGET, 1.0, night=night)),
            headers={
                **flow.headers("nightlogs:write", "nightlogs:read", client="chara-ingest"),
                "Content-Type": "text/csv",
            },
        )
    (observation,) = answer.json()["added"]
    return Poison(str(observation), time.monotonic())


@pytest.fixture(scope="module", autouse=True)
def poison(replicated: ChaosPlatform) -> Poison:
    """The poison event, planted before the faults (its letter comes after max_deliver deliveries)."""
    planted: Poison = run_async(_plant(replicated))
    return planted


async def _mid_flow(platform: ChaosPlatform, flow: Flow, fault: Callable[[], Awaitable[None]]) -> float:
    """Run the flow, apply ``fault`` once its first effects are seen and while it still runs; the flow's
    duration (seconds)."""
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30) as client:
        running = asyncio.create_task(flow.run(client))
        try:

            async def begun() -> bool:  # a night's log taken, its flags under way
                return len(flow.observations) >= flow.lines

            await eventually_true(begun, 60, "the flow's first night")
            assert not running.done(), "the flow ended before the fault"
            await fault()
            assert not running.done(), "the flow ended during the fault: not mid-flow"
            await running
        finally:
            running.cancel()
    return time.monotonic() - started


async def _after(platform: ChaosPlatform, flow: Flow, poison: Poison) -> str:
    """What must hold after every fault; a line of numbers for the log."""
    await platform.wait_ready(120)
    report = await settle(platform, flow, timeout=120)
    assert report.ok, (
        report.summary()
        + f" lost/dup: { {k: (t.lost[:3], t.duplicated[:3]) for k, t in report.tallies.items()} }"
    )
    letters = {}
    for service in CONSUMING:
        seen = await dead_letters(platform, service)
        first, *others = seen.values()
        assert all(other == first for other in others), f"{service}: the replicas list different letters"
        letters[service] = first
    unexpected = [
        letter
        for items in letters.values()
        for letter in items
        if letter["aggregate_id"] != poison.observation_id
    ]
    assert not unexpected, f"events of the flow dead-lettered: {unexpected[:3]}"
    causes = [platform.logged_error(e.rsplit('"request_id":"', 1)[-1][:32]) for e in flow.errors]
    assert not flow.errors, f"500 answers: {flow.errors[:3]}; logged: {causes[:3]}"
    again = ", ".join(f"{n} after {status or 'no answer'}" for status, n in sorted(flow.refused.items()))
    return f"{report.summary()}; requests sent again: {again or 'none'}"


def _restarted(platform: ChaosPlatform, name: str, pid: int) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        component = platform.components[name]
        return component.pid != pid and component.state == "ready"

    return check


async def test_one_replica_of_each_service_killed_in_turn_mid_flow(
    replicated: ChaosPlatform, poison: Poison
) -> None:
    flow = Flow(replicated, tag=1, nights=14, pause=1.5)
    killed: dict[str, int] = {}

    async def kill_each() -> None:
        for k, service in enumerate(INSTALLED):
            name = f"{service}-{k % 2 + 1}"
            killed[name] = await asyncio.to_thread(replicated.kill, name)
            await asyncio.sleep(1.5)

    took = await _mid_flow(replicated, flow, kill_each)
    for name, pid in killed.items():
        await eventually_true(_restarted(replicated, name, pid), 90, f"{name} restarted by the supervisor")
        assert replicated.components[name].last_exit == "SIGKILL"
    print(
        f"\none replica of each killed ({', '.join(killed)}), flow {took:.0f} s: {await _after(replicated, flow, poison)}"
    )


@pytest.mark.parametrize("service", INSTALLED)
async def test_both_replicas_of_a_service_killed_mid_flow(
    replicated: ChaosPlatform, poison: Poison, service: str
) -> None:
    flow = Flow(replicated, tag=10 + INSTALLED.index(service), nights=5, pause=0.8)
    killed: dict[str, int] = {}

    async def kill_both() -> None:
        for replica in replicated.replicas(service):
            killed[replica.name] = await asyncio.to_thread(replicated.kill, replica.name)

    took = await _mid_flow(replicated, flow, kill_both)
    for name, pid in killed.items():
        await eventually_true(_restarted(replicated, name, pid), 90, f"{name} restarted by the supervisor")
    print(f"\nboth {service} replicas killed, flow {took:.0f} s: {await _after(replicated, flow, poison)}")


async def test_replicas_killed_again_and_again_mid_flow(replicated: ChaosPlatform, poison: Poison) -> None:
    """A replica of a service on the flow's path killed every 1.5 s (one that is ready, never both of a
    service at once), 8 times, seeded: restarts pile up while events and requests keep flowing."""
    flow = Flow(replicated, tag=40, nights=15, pause=2.0)
    chooser = random.Random(18)
    killed: list[tuple[str, int]] = []

    async def kill_again_and_again() -> None:
        while len(killed) < 8:
            service = chooser.choice(FLOW_PATH)
            pair = replicated.replicas(service)
            if all(c.state == "ready" for c in pair):
                name = chooser.choice(pair).name
                killed.append((name, await asyncio.to_thread(replicated.kill, name)))
            await asyncio.sleep(1.5)

    took = await _mid_flow(replicated, flow, kill_again_and_again)
    for name, pid in killed:
        await eventually_true(_restarted(replicated, name, pid), 120, f"{name} restarted by the supervisor")
    names = ", ".join(name for name, _ in killed)
    print(f"\n8 kills ({names}), flow {took:.0f} s: {await _after(replicated, flow, poison)}")


async def test_nats_restarted_mid_flow(replicated: ChaosPlatform, poison: Poison) -> None:
    flow = Flow(replicated, tag=30, nights=6, pause=1.0)
    took = await _mid_flow(replicated, flow, lambda: asyncio.to_thread(replicated.restart_nats, 2.0))
    print(f"\nNATS restarted, flow {took:.0f} s: {await _after(replicated, flow, poison)}")


@pytest.mark.parametrize("crash", [False, True], ids=["fast-shutdown", "sigkill"])
async def test_postgres_restarted_mid_flow(replicated: ChaosPlatform, poison: Poison, crash: bool) -> None:
    flow = Flow(replicated, tag=31 + crash, nights=6, pause=1.0)
    took = await _mid_flow(
        replicated, flow, lambda: asyncio.to_thread(replicated.restart_postgres, 2.0, crash=crash)
    )
    how = "killed (SIGKILL) and started" if crash else "restarted"
    print(f"\nPostgreSQL {how}, flow {took:.0f} s: {await _after(replicated, flow, poison)}")


async def test_a_dead_letter_is_listed_by_every_replica_and_replayed_once(
    replicated: ChaosPlatform, poison: Poison
) -> None:
    async def listed() -> bool:
        seen = await dead_letters(replicated, "obsportal")
        return all(
            any(item["aggregate_id"] == poison.observation_id for item in items) for items in seen.values()
        )

    await eventually_true(listed, 240, "the poison's dead letter on both obsportal replicas")
    waited = time.monotonic() - poison.planted_at
    (letter,) = [
        item
        for item in (await dead_letters(replicated, "obsportal"))["obsportal-1"]
        if item["aggregate_id"] == poison.observation_id
    ]
    assert letter["consumer"] == "obsportal_night_logs"
    assert "poisoned exposure" in letter["error"]

    conn = await asyncpg.connect(replicated.database_url())
    try:
        exposure = "SELECT count(*) FROM obsportal.exposure WHERE observation_id = $1::uuid"
        assert await conn.fetchval(exposure, poison.observation_id) == 0  # lost until replayed
        await conn.execute(_CURE)
        outcome = await replay(replicated, "obsportal", letter["id"])
        assert outcome["outcome"] == "replayed", outcome
        exposures = await conn.fetchval(exposure, poison.observation_id)
    finally:
        await conn.close()
    assert exposures == 1
    for items in (await dead_letters(replicated, "obsportal")).values():
        assert not [item for item in items if item["aggregate_id"] == poison.observation_id]
    await replicated.wait_ready(60)
    print(f"\npoison dead-lettered after {waited:.0f} s (max_deliver 8), replayed: 1 exposure")
