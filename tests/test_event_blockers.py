"""Nothing may stop the event flow: an event too large for NATS is refused in its transaction, a row
NATS will not take is parked (counted, shown, retried on demand) while the rows after it flow, and
readiness says so when the relay is stuck."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import nats
import pytest
from harness import Probe, eventually
from nats.js import JetStreamContext
from probe_service.service import PingService
from probe_service.spec import SPEC, STREAM

from spicadb_contracts.probe import PingRecorded
from spicadb_kit.db import transaction
from spicadb_kit.errors import Problem
from spicadb_kit.events import Outbox
from spicadb_kit.events.envelope import Envelope
from spicadb_kit.events.outbox import largest_fields
from spicadb_kit.events.provision import provision, stream_config

BIG = 1_200_000  # bytes: more than NATS' default max_payload (1 MiB)


def ping_service(probe: Probe) -> PingService:
    assert probe.pool is not None
    return PingService(probe.pool, Outbox("/spicadb/probe"))


async def test_an_event_too_large_for_nats_is_refused_in_its_transaction(probe: Probe) -> None:
    service = ping_service(probe)
    with pytest.raises(Problem) as refused:
        await service.record("huge", 1, note="x" * BIG)
    problem = refused.value
    assert problem.status == 413
    assert problem.code == "event-too-large"
    assert "probe.ping.recorded" in problem.detail
    assert problem.errors is not None
    assert problem.errors[0].field == "note"  # the field that made it too large, first
    # nothing half-written: neither the ping nor its event
    assert await probe.scalar("SELECT count(*) FROM ping") == 0
    assert await probe.scalar("SELECT count(*) FROM outbox") == 0

    await service.record("after", 2)  # the next event flows
    async with probe.running():
        effects = await probe.wait_effects(1)
    assert effects == {"after": 1}


async def test_an_event_too_large_is_a_413_problem_naming_the_field_over_http(probe: Probe) -> None:
    token = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        refused = await client.post(
            "/pings", json={"id": "huge", "note": "x" * BIG}, headers={"Authorization": f"Bearer {token}"}
        )
    assert refused.status_code == 413, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/event-too-large")
    assert problem["errors"][0]["field"] == "note"
    assert problem["limit"] < BIG
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


def test_the_problem_names_the_field_that_makes_an_event_large_even_deep_inside_it() -> None:
    payload = {
        "night": "2026-01-14",
        "observations": [{"star": "Vega", "comments": "x" * 5000}, {"star": "Deneb", "comments": ""}],
        "notes": "y" * 800,
    }
    fields = largest_fields(payload)
    assert [path for path, _ in fields] == ["observations[0].comments", "notes", "night"]
    assert fields[0][1] == 5002  # its JSON, quotes included


async def insert_raw_event(probe: Probe, ping_id: str, note: str, aggregate: str | None = None) -> None:
    """An outbox row written as a release without the size check wrote it (or by a server with a larger
    max_payload): the relay must cope with what is already in the table."""
    assert probe.pool is not None
    event = PingRecorded(ping_id=ping_id, sequence=0, recorded_at=datetime.now(UTC), note=note)
    async with transaction(probe.pool) as conn:
        version = await conn.fetchval(
            "INSERT INTO outbox_aggregate AS a VALUES ('ping', $1, 1) ON CONFLICT (aggregate_type, aggregate_id)"
            " DO UPDATE SET last_version = a.last_version + 1 RETURNING last_version",
            aggregate or ping_id,
        )
        envelope = Envelope.for_event(
            event, source="/spicadb/probe", aggregate_id=aggregate or ping_id, aggregate_version=version
        )
        await conn.execute(
            "INSERT INTO outbox (event_id, event_type, subject, aggregate_type, aggregate_id, aggregate_version,"
            " headers, payload) VALUES ($1, $2, $3, 'ping', $4, $5, $6, $7)",
            envelope.id,
            envelope.type,
            event.subject(),
            envelope.subject,
            version,
            envelope.headers(),
            msgspec.json.encode(event),
        )


async def test_a_row_too_large_for_nats_is_parked_and_the_rows_after_it_flow(probe: Probe) -> None:
    service = ping_service(probe)
    await service.record("before", 1)
    await insert_raw_event(probe, "huge", "x" * BIG)
    await service.record("after", 2)
    async with probe.running() as client:
        effects = await probe.wait_effects(2)
        assert effects == {"before": 1, "after": 1}
        parked = await eventually(
            lambda: probe.scalar("SELECT park_reason FROM outbox WHERE parked_at IS NOT NULL")
        )
        assert "too large" in parked
        assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 1

        # shown: readiness names it (an operator has to act), and stays ready: the rows after it flow,
        # and one bad event must not take every replica out of its load balancer ...
        response = await client.get("/health/ready")
        report = response.json()
        assert report["outbox"]["parked"] == 1
        assert report["outbox"]["unpublished"] == 0
        assert any("parked" in w and "probe.ping.recorded" in w for w in report["warnings"]), report
        assert (response.status_code, report["status"]) == (200, "ready")

        # ... and so does the operator's command; a retry puts it back in line (still too large: parked again)
        listed = await run_cli(probe, "outbox", "list", "--service", "probe")
        assert "probe.ping.recorded" in listed
        assert "too large" in listed
        first_parked = await probe.scalar("SELECT parked_at FROM outbox WHERE parked_at IS NOT NULL")
        await run_cli(probe, "outbox", "retry", "--service", "probe")
        await eventually(
            lambda: probe.scalar(
                "SELECT parked_at > $1 FROM outbox WHERE parked_at IS NOT NULL", first_parked
            )
        )
        await service.record("later", 3)
        await probe.wait_effects(3)
        # discarded on purpose, the service is ready again
        event_id = await probe.scalar("SELECT id FROM outbox WHERE parked_at IS NOT NULL")
        await run_cli(probe, "outbox", "discard", "--service", "probe", "--id", str(event_id))

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await eventually(ready)
    assert await probe.scalar("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0


async def test_a_row_jetstream_refuses_is_parked_and_later_rows_of_its_aggregate_flow(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    # the stream takes messages of at most 4 kB: JetStream itself refuses a larger one
    config = stream_config(STREAM)
    config.max_msg_size = 4096
    await jetstream.update_stream(config)
    await insert_raw_event(probe, "big", "y" * 10_000, aggregate="night-1")
    await insert_raw_event(probe, "next", "", aggregate="night-1")  # version 2 of the same aggregate
    await ping_service(probe).record("other", 1)
    async with probe.running():
        await probe.wait_effects(1)  # another aggregate's event is applied
        published = await eventually(
            lambda: probe.scalar(
                "SELECT aggregate_version FROM outbox WHERE aggregate_id = 'night-1' AND published_at IS NOT NULL"
            )
        )
    # version 2 is in the stream although version 1 is parked: a gap its consumers must live with
    assert published == 2
    reason = await probe.scalar(
        "SELECT park_reason FROM outbox WHERE aggregate_id = 'night-1' AND parked_at IS NOT NULL"
    )
    assert "size" in reason
    nc = await nats.connect(probe.nats_url)
    try:
        assert (await nc.jetstream().stream_info(STREAM.name)).state.messages == 2
    finally:
        await nc.close()


async def test_readiness_says_which_event_is_stuck_when_the_relay_cannot_publish(
    probe: Probe, jetstream: JetStreamContext
) -> None:
    await jetstream.delete_stream(STREAM.name)  # nothing takes the probe's events (not provisioned)
    await ping_service(probe).record("waiting", 1)
    async with probe.running(relay_stuck_seconds=0.5) as client:

        async def not_ready() -> dict[str, Any] | None:
            response = await client.get("/health/ready")
            return response.json() if response.status_code == 503 else None

        report = await eventually(not_ready)
        (stuck,) = [p for p in report["problems"] if p.startswith("outbox")]
        assert "probe.ping.recorded" in stuck, report
        assert "waiting" in stuck, report
        assert report["outbox"]["unpublished"] == 1
        assert await probe.scalar("SELECT parked_at IS NULL FROM outbox")  # not the row's fault: not parked

        await provision(jetstream, [SPEC])  # provisioned: it flows, ready again
        await probe.wait_effects(1)

        async def ready() -> bool:
            return (await client.get("/health/ready")).status_code == 200

        await eventually(ready)


async def run_cli(probe: Probe, *argv: str) -> str:
    """`spicadb ...` as an operator runs it, against the probe's database, its output."""
    env = {
        **os.environ,
        "SPICADB_DATABASE_URL": probe.service_dsn,
        "SPICADB_SERVICES": "probe_service.spec:SPEC",
        "PYTHONPATH": str(Path(__file__).parent / "support"),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "spicadb_kit.runtime.cli",
        *argv,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()
