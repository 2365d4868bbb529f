"""The event path against real servers: commit -> outbox -> relay -> JetStream -> inbox -> effect.

Each test states a promise users rely on: an event committed has exactly one effect,
whatever crashes, redeliveries or restarts happen in between.
"""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import msgspec
import nats
import pytest
from harness import Probe, eventually
from nats.js import JetStreamContext
from probe_service.service import PingService
from probe_service.spec import EFFECTS, STREAM

from spicadb_contracts.probe import PingRecorded
from spicadb_kit.events import Bus, Outbox, OutboxRelay, request_replay
from spicadb_kit.events.envelope import MSG_ID_HEADER
from spicadb_kit.events.provision import backfill


async def stream_messages(probe: Probe) -> int:
    nc = await nats.connect(probe.nats_url)
    try:
        return (await nc.jetstream().stream_info(STREAM.name)).state.messages
    finally:
        await nc.close()


def ping_service(probe: Probe) -> PingService:
    assert probe.pool is not None
    return PingService(probe.pool, Outbox("/spicadb/probe"))


async def test_n_committed_events_give_exactly_n_effects(probe: Probe) -> None:
    service = ping_service(probe)
    for chunk in range(10):
        await service.record_batch([(f"b{chunk}-{i}", i) for i in range(100)])
    async with probe.running():
        effects = await probe.wait_effects(1000)
    assert len(effects) == 1000
    assert set(effects.values()) == {1}
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    assert await stream_messages(probe) == 1000


async def test_rolled_back_change_publishes_nothing(probe: Probe) -> None:
    service = ping_service(probe)
    await service.record("kept", 1)
    with pytest.raises(Exception, match="exists already"):
        await service.record("kept", 2)  # the conflict rolls back the event with the change
    async with probe.running():
        await probe.wait_effects(1)
        await asyncio.sleep(0.5)
    assert await probe.effects_per_ping() == {"kept": 1}
    assert await probe.scalar("SELECT count(*) FROM outbox") == 1


class CrashAfterPublish(Exception):
    pass


async def test_relay_crash_between_publish_and_mark_still_gives_one_effect(probe: Probe) -> None:
    await ping_service(probe).record_batch([(f"c{i}", i) for i in range(50)])
    assert probe.pool is not None
    bus = Bus(probe.nats_url, "crashing-relay")
    await bus.connect()
    relay = OutboxRelay(probe.pool, bus, schema="probe")
    original = relay._publish

    async def publish_then_crash(rows: list[asyncpg.Record]) -> object:
        await original(rows)  # JetStream has them ...
        raise CrashAfterPublish  # ... but the outbox rows are never marked

    relay._publish = publish_then_crash  # type: ignore[method-assign]
    async with probe.pool.acquire() as conn:
        with pytest.raises(CrashAfterPublish):
            await relay.publish_round(conn)
    await bus.close()
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 50
    async with probe.running():  # a fresh relay publishes the same 50 again
        effects = await probe.wait_effects(50)
        await eventually(lambda: probe.scalar("SELECT count(*) = 0 FROM outbox WHERE published_at IS NULL"))
    assert set(effects.values()) == {1}
    assert len(effects) == 50
    assert await stream_messages(probe) == 50  # Nats-Msg-Id dedupe dropped the second copies


async def republish(probe: Probe, new_msg_id: bool = True, **header_changes: str) -> None:
    """Publish again what the stream holds, as a broker redelivery or a second relay would."""
    nc = await nats.connect(probe.nats_url)
    js = nc.jetstream()
    try:
        info = await js.stream_info(STREAM.name)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            stored = await js.get_msg(STREAM.name, seq)
            headers = dict(stored.headers or {})
            if new_msg_id:  # past the duplicate window, or a copy JetStream cannot recognise
                headers[MSG_ID_HEADER] = uuid.uuid4().hex
            headers.update(header_changes)
            await js.publish(stored.subject, stored.data, headers=headers)
    finally:
        await nc.close()


async def test_redelivered_event_has_no_second_effect(probe: Probe) -> None:
    await ping_service(probe).record_batch([(f"r{i}", i) for i in range(20)])
    async with probe.running():
        await probe.wait_effects(20)
        await republish(probe)  # every event arrives a second time, undetectable by JetStream
        await eventually(lambda: stream_ok(probe))  # all 40 messages delivered and acknowledged
    effects = await probe.effects_per_ping()
    assert len(effects) == 20
    assert set(effects.values()) == {1}


async def stream_ok(probe: Probe) -> bool:
    nc = await nats.connect(probe.nats_url)
    try:
        info = await nc.jetstream().consumer_info(STREAM.name, EFFECTS.durable)
        return info.num_pending == 0 and info.num_ack_pending == 0 and info.delivered.stream_seq >= 40
    finally:
        await nc.close()


async def test_poison_event_is_dead_lettered_then_replayed_once_cured(probe: Probe) -> None:
    service = ping_service(probe)
    await service.record("bad", 1, note="poison")
    await service.record("good", 2)
    async with probe.running() as client:
        await probe.wait_effects(1)  # the good one is not held up by the bad one
        dead = await eventually(
            lambda: probe.scalar("SELECT error FROM dead_letter WHERE consumer = 'probe_effects'")
        )
        assert "ping bad is poison" in dead
        assert await probe.scalar("SELECT deliveries FROM dead_letter") == EFFECTS.max_deliver
        ready = (await client.get("/health/ready")).json()
        assert ready["dead_letters"] == {"probe_effects": 1}

        await probe.scalar("INSERT INTO ping_cure VALUES ('bad') RETURNING 1")
        assert probe.pool is not None
        assert await request_replay(probe.pool, "probe_effects") == 1
        effects = await probe.wait_effects(2)
        assert effects == {"good": 1, "bad": 1}
        assert await probe.scalar("SELECT replayed_at IS NOT NULL FROM dead_letter")
        ready = (await client.get("/health/ready")).json()
        assert ready["dead_letters"] == {}


async def test_undecodable_message_is_dead_lettered_with_its_bytes(probe: Probe) -> None:
    nc = await nats.connect(probe.nats_url)
    await nc.jetstream().publish("spicadb.probe.ping.recorded.v1", b"{not json", headers={"ce-id": "x"})
    await nc.close()
    async with probe.running():
        error = await eventually(lambda: probe.scalar("SELECT error FROM dead_letter"))
    assert error.startswith("undecodable")
    assert await probe.scalar("SELECT payload FROM dead_letter") == b"{not json"


async def test_events_of_one_aggregate_are_applied_in_version_order(probe: Probe) -> None:
    # one aggregate ("night-1"), 30 versions, written in three transactions
    service = ping_service(probe)
    for part in range(3):
        await service.record_batch([(f"o{part}-{i}", part * 10 + i) for i in range(10)], aggregate="night-1")
    async with probe.running():
        await probe.wait_effects(30)
    assert probe.pool is not None
    versions = [r[0] for r in await probe.pool.fetch("SELECT version FROM ping_effect ORDER BY applied_at")]
    assert versions == list(range(1, 31))


async def test_event_arriving_before_its_predecessor_waits_for_it(probe: Probe) -> None:
    event = PingRecorded(ping_id="late", sequence=2, recorded_at=__import__("datetime").datetime.now())
    nc = await nats.connect(probe.nats_url)
    js = nc.jetstream()

    def headers(version: int, ping: str) -> dict[str, str]:
        eid = str(uuid.uuid4())
        return {
            "ce-specversion": "1.0",
            "ce-id": eid,
            "ce-type": event.event_type(),
            "ce-source": "/test",
            "ce-subject": "agg",
            "ce-time": "2026-01-01T00:00:00Z",
            "ce-aggregatetype": "ping",
            "ce-aggregateversion": str(version),
            MSG_ID_HEADER: eid,
        }

    first = msgspec.json.encode(PingRecorded(ping_id="v1", sequence=1, recorded_at=event.recorded_at))
    second = msgspec.json.encode(PingRecorded(ping_id="v2", sequence=2, recorded_at=event.recorded_at))
    await js.publish(event.subject(), first, headers=headers(1, "v1"))
    await js.publish(
        event.subject(),
        msgspec.json.encode(PingRecorded(ping_id="v3", sequence=3, recorded_at=event.recorded_at)),
        headers=headers(3, "v3"),
    )
    async with probe.running():
        await probe.wait_effects(1)
        await asyncio.sleep(0.5)
        assert await probe.effects_per_ping() == {"v1": 1}  # v3 waits: v2 is missing
        await js.publish(event.subject(), second, headers=headers(2, "v2"))
        await probe.wait_effects(3)
    await nc.close()
    assert probe.pool is not None
    order = [r[0] for r in await probe.pool.fetch("SELECT ping_id FROM ping_effect ORDER BY applied_at")]
    assert order == ["v1", "v2", "v3"]


async def test_housekeeping_drops_old_published_events_and_inbox_rows_but_keeps_the_rest(
    probe: Probe,
) -> None:
    await ping_service(probe).record_batch([(f"h{i}", i) for i in range(10)])
    async with probe.running():
        await probe.wait_effects(10)
    assert probe.pool is not None
    # age half of everything beyond the retentions (outbox 600 s, inbox 35 days)
    await probe.pool.execute(
        "UPDATE outbox SET published_at = now() - interval '1 hour' WHERE id IN (SELECT id FROM outbox LIMIT 5)"
    )
    await probe.pool.execute(
        "UPDATE inbox SET processed_at = now() - interval '40 days'"
        " WHERE event_id IN (SELECT event_id FROM inbox LIMIT 5)"
    )
    await probe.pool.execute(
        "INSERT INTO outbox (event_id, event_type, subject, aggregate_type, aggregate_id,"
        " aggregate_version, headers, payload) VALUES (gen_random_uuid(), 't', 's', 'ping',"
        " 'unpublished', 1, '{}', '')"
    )
    bus = Bus(probe.nats_url, "housekeeping")
    relay = OutboxRelay(probe.pool, bus, schema="probe")
    async with probe.pool.acquire() as conn:
        await relay._prune(conn, force=True)
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NOT NULL") == 5
    assert (
        await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1
    )  # never unpublished
    assert await probe.scalar("SELECT count(*) FROM inbox") == 5
    assert await probe.scalar("SELECT count(*) FROM ping_effect") == 10  # effects are not the kit's to prune


async def test_backfill_delivers_the_stream_again_and_forget_applies_it_again(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    """`spicadb backfill`: a consumer reset to the start of its stream skips what it applied already;
    with --forget (a wiped copy to rebuild) every event still in the stream is applied again."""
    await ping_service(probe).record_batch([(f"r{i}", i) for i in range(20)])
    async with probe.running():
        await probe.wait_effects(20)
    assert probe.pool is not None

    await backfill(jetstream, probe.pool, EFFECTS, forget=False)
    async with probe.running():
        await eventually(lambda: _pending_is_zero(jetstream))
        await asyncio.sleep(0.3)
    assert sum((await probe.effects_per_ping()).values()) == 20

    await backfill(jetstream, probe.pool, EFFECTS, forget=True)
    async with probe.running():
        effects = await probe.wait_effects(40)
    assert set(effects.values()) == {2}


async def _pending_is_zero(js: JetStreamContext) -> bool:
    info = await js.consumer_info(EFFECTS.stream, EFFECTS.durable)
    return info.num_pending == 0 and info.num_ack_pending == 0
