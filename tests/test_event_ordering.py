"""The consumer runner never stops the flow on ordering: subsets of an aggregate's events (newest
wins), early events timed from first sighting, dead letters replayed in aggregate order, a handler
past the database's command timeout, and dead letters after a backfill --forget.

Each test runs a consumer runner of its own on the probe's stream (real PostgreSQL and NATS), with
events published as a producer's relay publishes them.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import pytest
from harness import Probe, eventually
from nats.js import JetStreamContext
from probe_service.spec import EFFECTS

from spicadb_contracts.nightlogs import ObservationFlagged, ObservationLogged
from spicadb_contracts.probe import PingRecorded
from spicadb_kit.db import init_connection
from spicadb_kit.events import Bus, ConsumerRunner, Envelope, EventConsumer, request_replay
from spicadb_kit.events.provision import backfill, provision_consumer
from spicadb_kit.spec import ConsumerDecl, Ordering, discover_services

SUBJECT = PingRecorded.subject()


def decl(name: str, **changes: Any) -> ConsumerDecl:
    """A consumer of the probe's stream of its own (fast retries)."""
    values: dict[str, Any] = {
        "durable": name,
        "max_deliver": 3,
        "backoff_seconds": (0.2, 0.2, 0.2),
        **changes,
    }
    return dataclasses.replace(EFFECTS, **values)


def recording_consumer(declared: ConsumerDecl) -> EventConsumer:
    """Each applied ping leaves a row in ping_effect; a ``poison`` ping fails until cured, a ``slow``
    one runs past any command timeout."""
    consumer = EventConsumer(declared)

    @consumer.on(PingRecorded)
    async def apply(conn: asyncpg.Connection, envelope: Envelope, event: PingRecorded) -> None:
        if event.note == "slow":
            await conn.execute("SELECT pg_sleep(5)")
        if event.note == "poison" and not await conn.fetchval(
            "SELECT true FROM ping_cure WHERE ping_id = $1", event.ping_id
        ):
            raise ValueError(f"ping {event.ping_id} is poison")
        await conn.execute(
            "INSERT INTO ping_effect (ping_id, event_id, version) VALUES ($1, $2, $3)",
            event.ping_id,
            envelope.id,
            envelope.aggregate_version,
        )

    return consumer


@asynccontextmanager
async def running(
    probe: Probe, js: JetStreamContext, declared: ConsumerDecl, *, command_timeout: float = 60
) -> AsyncIterator[ConsumerRunner]:
    """The runner of ``declared`` on its own pool and connection, stopped on exit."""
    await provision_consumer(js, declared)
    pool = await asyncpg.create_pool(
        probe.service_dsn,
        min_size=1,
        max_size=3,
        init=init_connection,
        server_settings={"search_path": "probe,public"},
        command_timeout=command_timeout,
    )
    assert pool is not None
    bus = Bus(probe.nats_url, declared.durable)
    await bus.connect()
    runner = ConsumerRunner(recording_consumer(declared), pool, bus, fetch_timeout=0.2)
    task = asyncio.create_task(runner.run())
    try:
        yield runner
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bus.close()
        await pool.close()


async def publish(js: JetStreamContext, aggregate: str, version: int, ping: str, note: str = "") -> None:
    event = PingRecorded(ping_id=ping, sequence=version, recorded_at=datetime.now(UTC), note=note)
    envelope = Envelope.for_event(
        event, source="/spicadb/probe", aggregate_id=aggregate, aggregate_version=version
    )
    await js.publish(SUBJECT, msgspec.json.encode(event), headers=envelope.headers())


async def effects(probe: Probe) -> list[str]:
    assert probe.pool is not None
    return [r[0] for r in await probe.pool.fetch("SELECT ping_id FROM ping_effect ORDER BY applied_at")]


async def drained(js: JetStreamContext, declared: ConsumerDecl) -> bool:
    info = await js.consumer_info(declared.stream, declared.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0


async def dead_letters(probe: Probe) -> list[asyncpg.Record]:
    assert probe.pool is not None
    return list(await probe.pool.fetch("SELECT * FROM dead_letter ORDER BY id"))


# --- subsets of an aggregate's events -------------------------------------------------------------


async def test_a_latest_consumer_applies_newer_versions_across_gaps_and_skips_older_ones(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    latest = decl("latest_pings", ordering=Ordering.LATEST, gap_patience_seconds=1.0)
    for version, ping in ((1, "v1"), (3, "v3"), (2, "v2"), (5, "v5")):
        await publish(jetstream, "obs", version, ping)
    async with running(probe, jetstream, latest):
        await eventually(lambda: drained(jetstream, latest), timeout=15)
    assert await effects(probe) == ["v1", "v3", "v5"]  # v2 came after v3: older, skipped
    assert await dead_letters(probe) == []


def test_a_strict_consumer_of_part_of_an_aggregates_events_is_refused() -> None:
    partial = ConsumerDecl(
        durable="partial", stream="SPICADB_NIGHTLOGS", filter_subjects=(ObservationLogged.subject(),)
    )
    with pytest.raises(ValueError, match=r"nightlogs\.observation\.flagged"):
        EventConsumer(partial)
    EventConsumer(dataclasses.replace(partial, ordering=Ordering.LATEST))
    EventConsumer(dataclasses.replace(partial, ordering=Ordering.NONE))
    whole = dataclasses.replace(
        partial, filter_subjects=("spicadb.nightlogs.observation.>",), ordering=Ordering.STRICT
    )
    EventConsumer(whole)
    flags = dataclasses.replace(partial, filter_subjects=(ObservationFlagged.subject(),))
    with pytest.raises(ValueError, match=r"nightlogs\.observation\.logged"):
        EventConsumer(flags)


def test_every_declared_consumer_passes_the_ordering_check() -> None:
    for spec in discover_services():
        for declared in spec.consumers:
            EventConsumer(declared)  # raises on a strict consumer of a subset


# --- early events --------------------------------------------------------------------------------


async def test_an_early_event_older_than_the_patience_waits_from_when_the_consumer_first_saw_it(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    """A backlog caught up late (an outage, a backfill): v2 and v3 stored long before the consumer
    starts are not dead-lettered at first sight; they wait for v1, which comes."""
    patient = decl("catching_up", gap_patience_seconds=3.0)
    await publish(jetstream, "night", 2, "v2")
    await publish(jetstream, "night", 3, "v3")
    stored = await jetstream.get_last_msg(patient.stream, SUBJECT)

    async def older_than_the_patience() -> bool:
        assert stored.time is not None
        return (datetime.now(UTC) - stored.time).total_seconds() > patient.gap_patience_seconds + 0.5

    await eventually(older_than_the_patience, timeout=10, interval=0.2)  # the backlog is old now
    async with running(probe, jetstream, patient) as runner:
        await eventually(lambda: _naked(runner), timeout=10)
        await publish(jetstream, "night", 1, "v1")
        await eventually(lambda: drained(jetstream, patient), timeout=15)
    assert await dead_letters(probe) == []
    assert await effects(probe) == ["v1", "v2", "v3"]


async def _naked(runner: ConsumerRunner) -> bool:
    return runner.stats.naks > 0


async def test_the_first_sighting_of_an_early_event_survives_a_restart(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    patient = decl("restarted", gap_patience_seconds=60.0)
    await publish(jetstream, "night", 2, "v2")
    async with running(probe, jetstream, patient) as runner:
        await eventually(lambda: _naked(runner), timeout=10)
    assert probe.pool is not None
    # the consumer saw it an hour ago (it was down since): the patience is spent
    changed = await probe.pool.execute(
        "UPDATE consumer_wait SET first_seen_at = now() - interval '1 hour' WHERE consumer = $1",
        patient.durable,
    )
    assert changed == "UPDATE 1"
    async with running(probe, jetstream, patient):
        dead = await eventually(lambda: dead_letters(probe), timeout=15)
    assert "GapError" in dead[0]["error"]
    assert await probe.scalar("SELECT count(*) FROM consumer_wait") == 0


async def test_readiness_shows_early_events_waiting(probe: Probe, jetstream: JetStreamContext) -> None:
    await publish(jetstream, "night", 2, "v2")
    async with probe.running() as client:

        async def waiting() -> Any:
            consumers = (await client.get("/health/ready")).json()["consumers"]
            entry = consumers.get(EFFECTS.durable, {})
            return entry if entry.get("waiting") == 1 else None

        entry = await eventually(waiting, timeout=15)
    assert entry["oldest_wait_seconds"] >= 0


# --- replaying dead letters ----------------------------------------------------------------------


async def test_dead_letters_are_replayed_in_aggregate_order_and_an_aggregate_stops_at_its_first_failure(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    strict = decl("replayed", gap_patience_seconds=1.0)
    await publish(jetstream, "night", 1, "v1", note="poison")
    await publish(jetstream, "night", 2, "v2")  # waits for v1, then gives up
    await publish(jetstream, "other", 1, "o1")
    async with running(probe, jetstream, strict) as runner:
        await eventually(lambda: _count(probe, "SELECT count(*) FROM dead_letter", 2), timeout=20)
        assert await effects(probe) == ["o1"]
        assert probe.pool is not None

        await request_replay(probe.pool, strict.durable)  # v1 still poison
        await eventually(
            lambda: _count(probe, "SELECT count(*) FROM dead_letter WHERE replay_requested_at IS NULL", 2),
            timeout=10,
        )
        assert await effects(probe) == ["o1"]  # v2 was not applied ahead of v1
        letters = await dead_letters(probe)
        assert [r["replayed_at"] for r in letters] == [None, None]
        assert "poison" in letters[0]["replay_error"]
        assert "dead letter" in letters[1]["replay_error"]

        await probe.pool.execute("INSERT INTO ping_cure VALUES ('v1')")
        await request_replay(probe.pool, strict.durable)
        await eventually(
            lambda: _count(probe, "SELECT count(*) FROM dead_letter WHERE replayed_at IS NOT NULL", 2),
            timeout=10,
        )
        assert runner.stats.replayed == 2
    assert await effects(probe) == ["o1", "v1", "v2"]


async def _count(probe: Probe, sql: str, wanted: int) -> bool:
    return bool(await probe.scalar(sql) == wanted)


# --- a handler past the database's command timeout -----------------------------------------------


async def test_a_handler_past_the_command_timeout_is_a_failed_delivery_not_a_lost_connection(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    slow = decl("slow_pings")
    await publish(jetstream, "a", 1, "slow", note="slow")
    await publish(jetstream, "b", 1, "quick")
    async with running(probe, jetstream, slow, command_timeout=0.5):
        await eventually(lambda: drained(jetstream, slow), timeout=30)
    assert await effects(probe) == ["quick"]  # not held up in the slow one's batch
    (dead,) = await dead_letters(probe)
    assert "TimeoutError" in dead["error"]
    assert dead["deliveries"] == slow.max_deliver


# --- backfill --forget ---------------------------------------------------------------------------


async def test_an_event_failing_again_after_a_forgetful_backfill_opens_a_new_dead_letter(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    await publish(jetstream, "p", 1, "bad", note="poison")
    assert probe.pool is not None
    async with running(probe, jetstream, EFFECTS):
        await eventually(lambda: dead_letters(probe), timeout=15)
        await probe.pool.execute("INSERT INTO ping_cure VALUES ('bad')")
        await request_replay(probe.pool, EFFECTS.durable)
        await eventually(lambda: effects(probe), timeout=10)
    await probe.pool.execute("DELETE FROM ping_cure")  # the copy is wiped and the cure lost

    await backfill(jetstream, probe.pool, EFFECTS, forget=True)
    async with running(probe, jetstream, EFFECTS):
        await eventually(
            lambda: _count(probe, "SELECT count(*) FROM dead_letter WHERE replayed_at IS NULL", 1),
            timeout=15,
        )
        await eventually(lambda: drained(jetstream, EFFECTS), timeout=10)
    letters = await dead_letters(probe)
    assert [r["replayed_at"] is None for r in letters] == [False, True]
    assert letters[0]["stream_seq"] == letters[1]["stream_seq"]
