"""CHARA logs in: CSV and JSON, idempotent, corrected logs as new versions with their differences,
all or nothing with every error named by line and column, nights bounded by local noon."""

from __future__ import annotations

from datetime import date

import msgspec
import pytest
from nightlogs_support import (
    HEADER,
    INGEST,
    NIGHT,
    NightLogsService,
    csv_log,
    fields,
    line,
    mjd_at,
    outbox,
    outbox_rows,
    post_log,
    problem,
)


async def test_a_csv_log_is_ingested_with_its_observations_and_events(service: NightLogsService) -> None:
    body = csv_log(
        line("Vega", 3.0),
        line("HD 1", 3.1, kind="CAL1"),
        line("Deneb", 4.0, mode="MR855", scopes="E1 W2 W1 S2"),
        line("Altair", 5.0, combiner="MIRCX", mode="H"),  # another instrument: skipped
    )
    async with service.running() as client:
        posted = await post_log(client, service, body)
        assert posted.status_code == 201, posted.text
        report = posted.json()
        listed = await client.get("/nightlogs/observations", headers=service.robot("chara-ingest", *INGEST))
    assert report["version"] == 1
    assert report["created"] is True
    assert report["lines"] == 4
    assert report["observations"] == 3
    assert report["skipped_lines"] == [5]
    assert len(report["added"]) == 3
    assert report["changed"] == []
    assert report["withdrawn"] == []
    items = listed.json()["items"]
    assert [i["target_name"] for i in items] == ["Vega", "HD 1", "Deneb"]
    assert [i["kind"] for i in items] == ["science", "calibrator", "science"]
    assert items[2]["mode"] == "MR850"
    assert items[2]["stations"] == ["E1", "W2", "W1", "S2"]
    # the end: the next line's start, at most the default exposure (600 s)
    assert items[0]["mjd_end"] == pytest.approx(mjd_at(3.1), abs=1e-9)
    assert items[1]["mjd_end"] == pytest.approx(mjd_at(3.1) + 600 / 86400, abs=1e-9)
    logged = await outbox(service, "nightlogs.observation.logged")
    assert len(logged) == 3
    assert {e["observation_id"] for e in logged} == set(report["added"])
    assert logged[0]["em_min"] == pytest.approx(0.6142e-6)
    assert logged[0]["resolving_power"] == 140.0
    assert logged[0]["tau0"] == 6.5
    rows = await outbox_rows(service, "nightlogs.log.ingested")
    assert [(r["aggregate_id"], r["aggregate_version"]) for r in rows] == [(f"CHARA/{NIGHT}", 1)]
    summary = msgspec.json.decode(rows[0]["payload"])
    assert summary["version"] == 1
    assert summary["lines"] == 4
    assert summary["unmatched"] == 3


async def test_a_json_log_is_the_same_log_as_its_csv(service: NightLogsService) -> None:
    start = mjd_at(3.0)
    document = {
        "lines": [
            {
                "ut_date": "2026-01-15",
                "star": "Vega",
                "pi": "ten Brummelaar",
                "program": "LP-1",
                "combiner": "SPICA",
                "type": "OBJ",
                "mjd": start,
                "mjd_end": start + 0.004,
                "filter": "LR",
                "scopes": ["S1", "E1", "W1", "W2", "E2", "S2"],
                "seeing": 1.1,
                "tau0": 6.5,
                "wind": 3.0,
                "airmass": 1.2,
                "temperature": 4.5,
                "comments": "fringes lost twice",
                "raw_files": ["SPICA_0001.fits", "SPICA_0002.fits"],
            }
        ]
    }
    async with service.running() as client:
        posted = await post_log(client, service, msgspec.json.encode(document), media="application/json")
        assert posted.status_code == 201, posted.text
        observation_id = posted.json()["added"][0]
        got = (
            await client.get(
                f"/nightlogs/observations/{observation_id}", headers=service.robot("chara-ingest", *INGEST)
            )
        ).json()
    assert got["mjd_end"] == pytest.approx(start + 0.004)
    assert got["seeing"] == 1.1
    assert got["wind"] == 3.0
    assert got["airmass"] == 1.2
    assert got["temperature"] == 4.5
    assert got["comments"] == "fringes lost twice"
    assert got["raw_files"] == ["SPICA_0001.fits", "SPICA_0002.fits"]
    assert got["level"] == "unknown"
    assert got["flags"] == []


async def test_the_same_log_twice_changes_nothing(service: NightLogsService) -> None:
    body = csv_log(line("Vega", 3.0), line("Deneb", 4.0))
    async with service.running() as client:
        first = await post_log(client, service, body)
        before = await service.counts()
        # the same lines in another order, with a comment line: the same log
        again = await post_log(client, service, b"# again\n" + csv_log(line("Deneb", 4.0), line("Vega", 3.0)))
    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert again.json()["version"] == 1
    assert again.json()["created"] is False
    assert again.json()["added"] == first.json()["added"]
    assert await service.counts() == before


async def test_a_corrected_log_is_a_new_version_with_its_differences(service: NightLogsService) -> None:
    async with service.running() as client:
        first = await post_log(
            client, service, csv_log(line("Vega", 3.0), line("Deneb", 4.0), line("Altair", 5.0))
        )
        ids = {o: i for o, i in zip(("Vega", "Deneb", "Altair"), first.json()["added"], strict=True)}
        corrected = csv_log(
            line("Vega", 3.0),
            line("Deneb", 4.0, scopes="E1-W2-W1-S2-S1"),  # changed
            line("Rigel", 6.0),  # added; Altair withdrawn
        )
        second = await post_log(client, service, corrected)
        assert second.status_code == 201, second.text
        report = second.json()
        robot = service.robot("chara-ingest", *INGEST)
        version = (await client.get(f"/nightlogs/logs/CHARA/{NIGHT}/versions/2", headers=robot)).json()
        night = (await client.get(f"/nightlogs/nights/CHARA/{NIGHT}", headers=robot)).json()
        altair = (await client.get(f"/nightlogs/observations/{ids['Altair']}", headers=robot)).json()
    assert report["version"] == 2
    assert report["changed"] == [ids["Deneb"]]
    assert report["withdrawn"] == [ids["Altair"]]
    assert len(report["added"]) == 1
    assert report["added"][0] not in ids.values()
    assert [o["target_name"] for o in version["added_observations"]] == ["Rigel"]
    assert [o["target_name"] for o in version["changed_observations"]] == ["Deneb"]
    assert [o["target_name"] for o in version["withdrawn_observations"]] == ["Altair"]
    assert (version["added"], version["changed"], version["withdrawn"]) == (1, 1, 1)
    assert [v["version"] for v in night["logs"]] == [1, 2]
    assert sorted(o["target_name"] for o in night["observations"]) == ["Deneb", "Rigel", "Vega"]
    assert altair["withdrawn"] is True
    assert altair["withdrawn_in"] == 2
    logged = await outbox_rows(service, "nightlogs.observation.logged")
    second_round = [msgspec.json.decode(r["payload"]) for r in logged[3:]]
    assert {(e["target_name"], e["withdrawn"], e["log_version"]) for e in second_round} == {
        ("Deneb", False, 2),
        ("Rigel", False, 2),
        ("Altair", True, 2),
    }
    # one observation's events are one aggregate: Deneb's second event is its version 2
    deneb = [r for r in logged if r["aggregate_id"] == ids["Deneb"]]
    assert [r["aggregate_version"] for r in deneb] == [1, 2]
    ingested = await outbox(service, "nightlogs.log.ingested")
    assert [(e["version"], len(e["added"]), e["changed"], e["withdrawn"]) for e in ingested] == [
        (1, 3, [], []),
        (2, 1, [ids["Deneb"]], [ids["Altair"]]),
    ]


BAD_LOGS = {
    "malformed CSV": (csv_log(line("Vega", 3.0), '2026-01-15,"Deneb'), "text/csv", 400, "malformed-log", []),
    "not UTF-8": (b"UT-DATE,STAR\n\xff\xfe\n", "text/csv", 400, "malformed-log", []),
    "malformed JSON": (b'{"lines": [', "application/json", 400, "malformed-log", []),
    "not a log format": (b"<xml/>", "application/xml", 415, "unsupported-media-type", []),
    "empty": (HEADER.encode() + b"\n", "text/csv", 422, "empty-log", []),
    "unknown column": (
        csv_log(line("Vega", 3.0) + ",x", header=HEADER + ",COLOUR"),
        "text/csv",
        422,
        "invalid-log-header",
        ["header.COLOUR"],
    ),
    "UT-DATE not matching the MJD": (
        csv_log(line("Vega", 3.0, ut_date="2026-01-14")),
        "text/csv",
        422,
        "invalid-log",
        ["lines[2].UT-DATE"],
    ),
    "MJD outside the night": (
        csv_log(line("Vega", 3.0), line("Deneb", 21.0)),
        "text/csv",
        422,
        "invalid-log",
        ["lines[3].MJD"],
    ),
    "duplicate lines": (
        csv_log(line("Vega", 3.0), line("Deneb", 4.0), line("Vega", 3.0)),
        "text/csv",
        422,
        "invalid-log",
        ["lines[4].MJD"],
    ),
    "bad cells": (
        csv_log(line("Vega", 3.0, mode="XR"), line("Deneb", 4.0, kind="SCI", scopes="S1-S2")),
        "text/csv",
        422,
        "invalid-log",
        ["lines[2].FILTER", "lines[3].TYPE", "lines[3].SCOPES"],
    ),
    "a cell too many": (csv_log(line("Vega", 3.0) + ",extra"), "text/csv", 422, "invalid-log", ["lines[2]"]),
    "JSON unknown field": (
        b'[{"star": "Vega", "colour": "blue"}]',
        "application/json",
        422,
        "invalid-log",
        ["lines[0].colour"],
    ),
}


@pytest.mark.parametrize("case", list(BAD_LOGS))
async def test_a_bad_log_is_refused_whole_and_writes_nothing(service: NightLogsService, case: str) -> None:
    body, media, status, code, wrong = BAD_LOGS[case]
    async with service.running() as client:
        await post_log(client, service, csv_log(line("Sirius", 2.0)), night=date(2026, 1, 10))
        before = await service.counts()
        refused = await post_log(client, service, body, media=media)
    document = problem(refused, status, code)
    for field in wrong:
        assert field in fields(document), document
    assert await service.counts() == before


@pytest.mark.parametrize("night", ["2026-02-30", "2026-13-01", "tomorrow", "2999-01-01"])
async def test_a_log_for_a_night_that_does_not_exist_is_refused(
    service: NightLogsService, night: str
) -> None:
    async with service.running() as client:
        refused = await post_log(client, service, csv_log(line("Vega", 3.0)), night=night)  # type: ignore[arg-type]
        elsewhere = await post_log(client, service, csv_log(line("Vega", 3.0)), site="VLTI")
    problem(refused, 404, "night-not-found")
    problem(elsewhere, 404, "site-not-found")
    assert await service.counts() == {t: 0 for t in await service.counts()}


async def test_a_log_needs_nightlogs_write(service: NightLogsService) -> None:
    async with service.running() as client:
        refused = await client.post(
            f"/nightlogs/logs/CHARA/{NIGHT}",
            content=csv_log(line("Vega", 3.0)),
            headers={**service.auth("eve", "nightlogs:read"), "Content-Type": "text/csv"},
        )
    problem(refused, 403)
    assert (await service.counts())["observation"] == 0


async def test_a_winter_line_at_13h_ut_belongs_to_the_night_of_the_previous_local_date(
    service: NightLogsService,
) -> None:
    # 2026-01-15T13:00Z is 05:00 PST on the 15th: still the night that began on the 14th
    late = line("Vega", 13.0)
    assert late.startswith("2026-01-15,")
    async with service.running() as client:
        wrong = await post_log(client, service, csv_log(late), night=date(2026, 1, 15))
        right = await post_log(client, service, csv_log(late), night=date(2026, 1, 14))
        nights = (await client.get("/nightlogs/nights", headers=service.auth("eve", "nightlogs:read"))).json()
    assert fields(problem(wrong, 422, "invalid-log")) == ["lines[2].MJD"]
    assert right.status_code == 201, right.text
    assert [(n["site"], n["night"], n["log_version"]) for n in nights["items"]] == [
        ("CHARA", "2026-01-14", 1)
    ]
