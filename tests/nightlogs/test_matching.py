"""What a logged line is: the night's plan, then programme targets by name, then by position after
proper motion; what matches nothing is kept. And its projected baselines, as spicadb_astro computes them."""

from __future__ import annotations

import uuid
from datetime import date

import msgspec
import pytest
from nightlogs_support import (
    INGEST,
    NIGHT,
    SCHEDULE,
    NightLogsService,
    at,
    copied,
    csv_log,
    line,
    mjd_at,
    outbox,
    post_log,
    programme,
    targets,
)

from spicadb_astro import chara
from spicadb_contracts.programmes import TargetSnapshot

JSON = "application/json"
EARLIER = date(2026, 1, 13)


async def test_lines_match_the_plan_then_names_then_positions_and_the_rest_is_kept(
    service: NightLogsService,
) -> None:
    lp1 = await programme(service, "LP-1")
    lp2 = await programme(service, "LP-2")
    vega, deneb, barnard = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await targets(service, lp1, "LP-1", [TargetSnapshot(vega, "Vega", 279.2347, 38.7837)])
    await targets(
        service,
        lp2,
        "LP-2",
        [
            TargetSnapshot(deneb, "Deneb", 310.3580, 45.2803),
            # Barnard's star: 10.3"/yr to the north; 26 years after J2000 it is 268" away from its catalogue place
            TargetSnapshot(barnard, "GJ 699", 269.4521, 4.6934, epoch=2000.0, pmra=-802.8, pmdec=10362.5),
        ],
    )
    scheduler = service.robot("scheduler", *SCHEDULE)
    plan = {
        "observations": [
            {
                "programme": "LP-1",
                "target": "VEGA",
                "target_id": str(vega),
                "mode": "LR",
                "configuration": ["S1", "S2", "E1", "E2", "W1", "W2"],
                "start": at(2.9).isoformat(),
                "end": at(3.5).isoformat(),
                "calibrators": ["HD 1"],
            }
        ]
    }
    moved_dec = 4.6934 + 10362.5 * (2026.04 - 2000.0) / 3.6e6
    moved_ra = 269.4521 - 802.8 * (2026.04 - 2000.0) / 3.6e6 / 0.99665
    lines = [
        line("Vega", 3.0),
        line("HD 1", 3.2, kind="CAL1"),
        line("deneb", 4.0, program="?"),
        line("Unknown star", 6.0),
    ]
    async with service.running() as client:
        await copied(service, programmes=2, targets=3)
        assert (
            await client.post(f"/nightlogs/schedules/CHARA/{NIGHT}", json=plan, headers=scheduler)
        ).status_code == 201
        posted = await post_log(client, service, csv_log(*lines))
        assert posted.status_code == 201, posted.text
        by_position = {
            "lines": [
                {
                    "ut_date": "2026-01-14", "star": "Barnard's star", "combiner": "SPICA", "type": "OBJ",
                    "mjd": _mjd(5.0), "filter": "MR720",
                    "scopes": "E1-W2-W1-S2", "ra": moved_ra, "dec": moved_dec,
                },
                {
                    "ut_date": "2026-01-14", "star": "Not Barnard", "combiner": "SPICA", "type": "OBJ",
                    "mjd": _mjd(5.5), "filter": "MR720", "scopes": "E1-W2-W1-S2", "ra": 269.4521, "dec": 4.6934,
                },
            ]
        }  # fmt: skip
        other_night = await post_log(
            client, service, msgspec.json.encode(by_position), night=EARLIER, media=JSON
        )
        assert other_night.status_code == 201, other_night.text
        listed = (
            await client.get("/nightlogs/observations", headers=service.robot("chara-ingest", *INGEST))
        ).json()["items"]
    got = {o["target_name"]: o for o in listed}
    assert (got["Vega"]["matched_by"], got["Vega"]["programme"], got["Vega"]["target_id"]) == (
        "plan",
        "LP-1",
        str(vega),
    )
    assert got["Vega"]["planned_sequence"] == 1
    assert (got["HD 1"]["matched_by"], got["HD 1"]["programme"]) == ("plan", "LP-1")
    assert (got["deneb"]["matched_by"], got["deneb"]["programme"], got["deneb"]["target_id"]) == (
        "name",
        "LP-2",
        str(deneb),
    )
    assert (got["Barnard's star"]["matched_by"], got["Barnard's star"]["target_id"]) == (
        "position",
        str(barnard),
    )
    # the catalogue place is 268" from where the star was that night: no match
    assert got["Not Barnard"]["matched_by"] == "none"
    assert got["Not Barnard"]["programme"] is None
    ingested = await outbox(service, "nightlogs.log.ingested")
    assert ingested[-1]["unmatched"] == 1


def _mjd(hour: float) -> float:
    return mjd_at(hour, EARLIER)


async def test_unmatched_lines_are_kept_and_flagged_none(service: NightLogsService) -> None:
    async with service.running() as client:
        posted = await post_log(client, service, csv_log(line("Nobody", 3.0), line("Nothing", 4.0)))
        report = posted.json()
    assert report["unmatched"] == 2
    assert len(report["added"]) == 2
    events = await outbox(service, "nightlogs.observation.logged")
    assert [e["matched_by"] for e in events] == ["none", "none"]
    assert all("programme" not in e or e["programme"] is None for e in events)


async def test_baselines_of_every_pair_are_stored_as_spicadb_astro_computes_them(
    service: NightLogsService,
) -> None:
    lp1 = await programme(service, "LP-1")
    vega = uuid.uuid4()
    await targets(service, lp1, "LP-1", [TargetSnapshot(vega, "Vega", 279.2347, 38.7837)])
    async with service.running() as client:
        await copied(service, programmes=1, targets=1)
        posted = await post_log(
            client, service, csv_log(line("Vega", 3.0), line("Vega", 3.1, scopes="E1-W2-W1-S2"))
        )
        robot = service.robot("chara-ingest", *INGEST)
        six, four = [
            (await client.get(f"/nightlogs/observations/{i}", headers=robot)).json()
            for i in posted.json()["added"]
        ]
    assert len(six["baselines"]) == 15
    assert len(four["baselines"]) == 6
    for observation in (six, four):
        expected = chara.projected_baselines(
            observation["stations"],
            observation["ra"],
            observation["dec"],
            observation["mjd_start"],
            observation["mjd_end"],
        )
        assert [b["stations"] for b in observation["baselines"]] == [b.stations for b in expected]
        for got, want in zip(observation["baselines"], expected, strict=True):
            assert got == pytest.approx(msgspec.structs.asdict(want) | {"stations": want.stations}, abs=1e-6)
    events = await outbox(service, "nightlogs.observation.logged")
    assert len(events[0]["baselines"]) == 15
    assert events[0]["baselines"][0]["stations"] == "E1-W2"
