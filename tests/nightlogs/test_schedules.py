"""The SPICA scheduler's plans: every post a new version, the old ones kept, an event each."""

from __future__ import annotations

from typing import Any

from nightlogs_support import NIGHT, SCHEDULE, NightLogsService, at, fields, outbox, outbox_rows, problem


def planned(target: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {
        "programme": "LP-1",
        "target": target,
        "mode": "MR720",
        "configuration": ["S1", "S2", "E1", "E2", "W1", "W2"],
        "start": at(start).isoformat(),
        "end": at(end).isoformat(),
        "calibrators": ["HD 1"],
        **extra,
    }


async def test_posting_a_plan_again_makes_a_new_version_and_keeps_the_old_one(
    service: NightLogsService,
) -> None:
    scheduler = service.robot("scheduler", *SCHEDULE)
    async with service.running() as client:
        first = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={"observations": [planned("Vega", 3, 4)]},
            headers=scheduler,
        )
        assert first.status_code == 201, first.text
        assert first.json()["version"] == 1
        # channel order V1..V6
        assert first.json()["observations"][0]["configuration"] == ["E1", "W2", "W1", "S2", "S1", "E2"]
        second = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={"observations": [planned("Vega", 3, 4), planned("Deneb", 4, 5, mode="MR855")]},
            headers=scheduler,
        )
        assert second.status_code == 201
        assert second.json()["version"] == 2
        assert second.json()["observations"][1]["mode"] == "MR850"  # legacy name
        night = (await client.get(f"/nightlogs/nights/CHARA/{NIGHT}", headers=scheduler)).json()
    assert [p["version"] for p in night["plans"]] == [1, 2]
    assert [len(p["observations"]) for p in night["plans"]] == [1, 2]
    assert night["start"].startswith("2026-01-14T20:00:00")
    rows = await outbox_rows(service, "nightlogs.night.scheduled")
    assert [(r["aggregate_id"], r["aggregate_version"]) for r in rows] == [
        (f"CHARA/{NIGHT}", 1),
        (f"CHARA/{NIGHT}", 2),
    ]
    events = await outbox(service, "nightlogs.night.scheduled")
    assert [e["version"] for e in events] == [1, 2]
    assert events[1]["observations"][1]["target"] == "Deneb"
    assert events[1]["scheduled_by"] == "scheduler"


async def test_a_plan_is_checked_whole_and_needs_schedule_write(service: NightLogsService) -> None:
    scheduler = service.robot("scheduler", *SCHEDULE)
    async with service.running() as client:
        bad = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={
                "observations": [
                    planned("Vega", 3, 4, mode="XR"),
                    planned("Deneb", 21, 22),  # after the local noon that ends the night
                    planned("Altair", 5, 6, configuration=["S1", "S2", "X9"]),
                ]
            },
            headers=scheduler,
        )
        document = problem(bad, 422, "invalid-plan")
        assert fields(document) == [
            "body.observations[0].mode",
            "body.observations[1].start",
            "body.observations[2].configuration",
        ]
        refused = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={"observations": [planned("Vega", 3, 4)]},
            headers=service.auth("eve", "nightlogs:read"),
        )
        problem(refused, 403)
        impossible = await client.post(
            "/nightlogs/schedules/CHARA/2026-02-30",
            json={"observations": [planned("Vega", 3, 4)]},
            headers=scheduler,
        )
        problem(impossible, 404, "night-not-found")
    assert (await service.counts())["plan_version"] == 0
    assert (await service.counts())["outbox"] == 0
