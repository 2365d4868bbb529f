"""Quality flags (every change kept, nightlogs:flag only) and data rights (proprietary observations
only for their programme's members until released)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from harness import eventually
from nightlogs_support import (
    FLAG,
    INGEST,
    NightLogsService,
    copied,
    csv_log,
    line,
    outbox_rows,
    post_log,
    problem,
    programme,
    targets,
)

from spicadb_contracts.programmes import Member, MembershipChanged, TargetSnapshot


async def _logged(service: NightLogsService, client) -> str:  # type: ignore[no-untyped-def]
    lp1 = await programme(service, "LP-1", pi="ada", months=120)  # the longest period a programme has
    await targets(service, lp1, "LP-1", [TargetSnapshot(uuid.uuid4(), "Vega", 279.2347, 38.7837)])
    await copied(service, programmes=1, targets=1)
    posted = await post_log(client, service, csv_log(line("Vega", 3.0)))
    assert posted.status_code == 201, posted.text
    observation_id: str = posted.json()["added"][0]
    return observation_id


async def test_flags_keep_their_history_and_announce_each_change(service: NightLogsService) -> None:
    staff = service.auth("ada", *FLAG)
    async with service.running() as client:
        observation_id = await _logged(service, client)
        first = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "degraded", "reasons": ["clouds", "seeing"], "comment": "cirrus after 03:00"},
            headers=staff,
        )
        assert first.status_code == 201, first.text
        same = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "degraded", "reasons": ["seeing", "clouds"], "comment": "cirrus after 03:00"},
            headers=staff,
        )
        assert same.status_code == 200
        second = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "good", "comment": "reprocessed"},
            headers=service.auth("bob", *FLAG, "admin"),
        )
        got = (await client.get(f"/nightlogs/observations/{observation_id}", headers=staff)).json()
        bad_level = await client.post(
            f"/nightlogs/observations/{observation_id}/flags", json={"level": "great"}, headers=staff
        )
        listed = (await client.get("/nightlogs/observations?level=good", headers=staff)).json()["items"]
    assert second.status_code == 201
    assert got["level"] == "good"
    assert [(f["previous_level"], f["level"], f["reasons"], f["flagged_by"]) for f in got["flags"]] == [
        ("unknown", "degraded", ["clouds", "seeing"], "ada"),
        ("degraded", "good", [], "bob"),
    ]
    problem(bad_level, 400)
    assert [o["id"] for o in listed] == [observation_id]
    rows = await outbox_rows(service, "nightlogs.observation.flagged")
    # one aggregate with observation.logged: version 1 was the logged event
    assert [(r["aggregate_id"], r["aggregate_version"]) for r in rows] == [
        (observation_id, 2),
        (observation_id, 3),
    ]


async def test_flagging_needs_nightlogs_flag(service: NightLogsService) -> None:
    async with service.running() as client:
        observation_id = await _logged(service, client)
        refused = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "bad"},
            headers=service.auth("ada", "nightlogs:read"),
        )
    problem(refused, 403)
    assert await service.scalar("SELECT count(*) FROM observation_flag") == 0


async def test_proprietary_observations_are_seen_by_members_only(service: NightLogsService) -> None:
    async with service.running() as client:
        observation_id = await _logged(service, client)
        eve = service.auth("eve", "nightlogs:read")
        hidden = await client.get(f"/nightlogs/observations/{observation_id}", headers=eve)
        listed = (await client.get("/nightlogs/observations", headers=eve)).json()["items"]
        night = (await client.get("/nightlogs/nights/CHARA/2026-01-14", headers=eve)).json()
        flag = await client.post(
            f"/nightlogs/observations/{observation_id}/flags", json={"level": "bad"}, headers=eve
        )
        member = await client.get(f"/nightlogs/observations/{observation_id}", headers=service.auth("ada"))
        # the night astronomers who flag observations see them all: judging them is their job
        judged = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "usable"},
            headers=service.auth("nina", "nightlogs:read", "nightlogs:flag"),
        )
        robot = await client.get(
            f"/nightlogs/observations/{observation_id}", headers=service.robot("chara-ingest", *INGEST)
        )
        # eve joins LP-1: she sees it
        programme_id = await service.scalar("SELECT programme_id FROM programme_rights WHERE code = 'LP-1'")
        await service.publish(
            MembershipChanged(
                programme_id=programme_id, code="LP-1", members=[Member("ada", "pi"), Member("eve", "viewer")],
                changed_by="ada", changed_at=datetime.now(UTC),
            ),
            str(programme_id),
        )  # fmt: skip

        async def seen() -> bool:
            answer = await client.get(f"/nightlogs/observations/{observation_id}", headers=eve)
            return answer.status_code == 200

        await eventually(seen)
    problem(hidden, 404, "observation-not-found")
    assert listed == []
    assert night["observations"] == []
    assert night["logs"][0]["version"] == 1
    problem(flag, 403)
    assert judged.status_code == 201, judged.text
    assert member.status_code == 200
    assert member.json()["programme"] == "LP-1"
    assert member.json()["release"] is not None
    assert robot.status_code == 200
