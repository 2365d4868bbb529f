"""Every value a log, a plan or a flag puts in an event is bounded at the edge: a value beyond its bound is
a 422 naming the line and column (or the field), and nothing is written, so no event can outgrow a NATS
message (issue 12: a 1.2 MB comments cell was accepted and its event blocked the relay for good)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from nightlogs_support import (
    FLAG,
    HEADER,
    NIGHT,
    SCHEDULE,
    NightLogsService,
    at,
    csv_log,
    fields,
    line,
    mjd_at,
    outbox,
    post_log,
    problem,
)

from spicadb_contracts.bounds import (
    CALIBRATORS,
    COMMENT_LENGTH,
    FILENAME_LENGTH,
    LOG_OBSERVATIONS,
    NAME_LENGTH,
    PLANNED_OBSERVATIONS,
    RAW_FILES,
)

HUGE = "x" * 1_200_000  # the comments cell of the issue


def json_line(star: str, hour: float, **extra: Any) -> dict[str, Any]:
    start = mjd_at(hour)
    return {
        "ut_date": "2026-01-15" if hour < 24 else "2026-01-16",
        "star": star,
        "combiner": "SPICA",
        "type": "OBJ",
        "mjd": start,
        "mode": "LR",
        "stations": "S1-E1-W1-W2-E2-S2",
        **extra,
    }


def json_log(*lines: dict[str, Any]) -> bytes:
    return json.dumps({"lines": list(lines)}).encode()


async def nothing_written(service: NightLogsService) -> None:
    counts = await service.counts()
    assert counts["observation"] == 0, counts
    assert counts["outbox"] == 0, counts


async def test_a_json_log_with_a_huge_comments_cell_is_refused_naming_it(service: NightLogsService) -> None:
    body = json_log(json_line("Vega", 3.0), json_line("Deneb", 4.0, comments=HUGE))
    async with service.running() as client:
        refused = await post_log(client, service, body, media="application/json")
    document = problem(refused, 422, "invalid-log")
    assert fields(document) == ["lines[1].comments"]
    assert f"at most {COMMENT_LENGTH} characters" in document["errors"][0]["message"]
    await nothing_written(service)


async def test_a_csv_log_with_a_huge_comments_cell_is_refused_naming_it(service: NightLogsService) -> None:
    body = csv_log(line("Vega", 3.0) + ",", line("Deneb", 4.0) + f",{HUGE}", header=HEADER + ",COMMENTS")
    async with service.running() as client:
        refused = await post_log(client, service, body)
    document = problem(refused, 422, "invalid-log")
    assert fields(document) == ["lines[3].COMMENTS"]
    await nothing_written(service)


async def test_a_comment_at_its_bound_is_taken_whole(service: NightLogsService) -> None:
    comment = "é\tcloudy\n" * (COMMENT_LENGTH // 9)
    body = json_log(json_line("Vega", 3.0, comments=comment))
    async with service.running() as client:
        taken = await post_log(client, service, body, media="application/json")
    assert taken.status_code == 201, taken.text
    (event,) = await outbox(service, "nightlogs.observation.logged")
    assert event["comments"] == comment.strip()


LONG_CELLS = {
    "star": ({"star": "V" * (NAME_LENGTH + 1)}, "lines[0].star"),
    "star with a control character": ({"star": "Ve\x1bga"}, "lines[0].star"),
    "pi": ({"pi": "p" * (NAME_LENGTH + 1)}, "lines[0].pi"),
    "program": ({"program": "P" * (NAME_LENGTH + 1)}, "lines[0].program"),
    "combiner": ({"combiner": "S" * (NAME_LENGTH + 1)}, "lines[0].combiner"),
    "a raw file name": ({"raw_files": ["f" * (FILENAME_LENGTH + 1) + ".fits"]}, "lines[0].raw_files"),
    "too many raw files": ({"raw_files": [f"f{i}.fits" for i in range(RAW_FILES + 1)]}, "lines[0].raw_files"),
    "raw files as one cell": (
        {"raw_files": " ".join(f"f{i}.fits" for i in range(RAW_FILES + 1))},
        "lines[0].raw_files",
    ),
}


@pytest.mark.parametrize("case", list(LONG_CELLS))
async def test_a_cell_beyond_its_bound_is_refused(service: NightLogsService, case: str) -> None:
    extra, where = LONG_CELLS[case]
    star = extra.pop("star", "Vega")
    async with service.running() as client:
        refused = await post_log(
            client, service, json_log(json_line(star, 3.0, **extra)), media="application/json"
        )
    assert where in fields(problem(refused, 422, "invalid-log"))
    await nothing_written(service)


async def test_a_log_of_more_observations_than_an_event_can_list_is_refused(
    service: NightLogsService,
) -> None:
    # LOG_OBSERVATIONS + 1 SPICA lines within the night, one second apart
    lines = [
        line(f"HD {i}", 3.0, mjd=round(mjd_at(3.0) + i / 86400.0, 6)) for i in range(LOG_OBSERVATIONS + 1)
    ]
    async with service.running() as client:
        refused = await post_log(client, service, csv_log(*lines))
    document = problem(refused, 422, "too-many-observations")
    assert str(LOG_OBSERVATIONS) in document["detail"]
    await nothing_written(service)


def planned(target: str, start: float, end: float, **extra: Any) -> dict[str, Any]:
    return {
        "programme": "LP-1",
        "target": target,
        "mode": "MR720",
        "configuration": ["S1", "S2", "E1", "E2", "W1", "W2"],
        "start": at(start).isoformat(),
        "end": at(end).isoformat(),
        **extra,
    }


PLANS = {
    "a target name": ([planned("V" * (NAME_LENGTH + 1), 3, 4)], "body.observations[0].target"),
    "a calibrator name": ([planned("Vega", 3, 4, calibrators=["C" * (NAME_LENGTH + 1)])], "body.observations[0].calibrators[0]"),
    "too many calibrators": (
        [planned("Vega", 3, 4, calibrators=[f"HD {i}" for i in range(CALIBRATORS + 1)])],
        "body.observations[0].calibrators",
    ),
    "a programme": ([planned("Vega", 3, 4, programme="P" * 200)], "body.observations[0].programme"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(PLANS))
async def test_a_plan_beyond_its_bounds_is_refused(service: NightLogsService, case: str) -> None:
    observations, where = PLANS[case]
    async with service.running() as client:
        refused = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={"observations": observations},
            headers=service.robot("scheduler", *SCHEDULE),
        )
    # a request body beyond its schema is the kit's 400 validation problem, naming the field
    assert where in fields(problem(refused, 400, "validation")), refused.text
    assert (await service.counts())["outbox"] == 0


async def test_a_plan_of_too_many_observations_is_refused(service: NightLogsService) -> None:
    async with service.running() as client:
        refused = await client.post(
            f"/nightlogs/schedules/CHARA/{NIGHT}",
            json={"observations": [planned(f"HD {i}", 3, 4) for i in range(PLANNED_OBSERVATIONS + 1)]},
            headers=service.robot("scheduler", *SCHEDULE),
        )
    assert fields(problem(refused, 422, "invalid-plan")) == ["body.observations"]
    assert (await service.counts())["outbox"] == 0


async def test_a_flag_comment_beyond_its_bound_is_refused(service: NightLogsService) -> None:
    async with service.running() as client:
        logged = await post_log(client, service, json_log(json_line("Vega", 3.0)), media="application/json")
        assert logged.status_code == 201, logged.text
        observation_id = logged.json()["added"][0]
        refused = await client.post(
            f"/nightlogs/observations/{observation_id}/flags",
            json={"level": "bad", "comment": "c" * (COMMENT_LENGTH + 1)},
            headers=service.auth("nina", *FLAG),
        )
    assert fields(problem(refused, 400, "validation")) == ["body.comment"]
    assert await outbox(service, "nightlogs.observation.flagged") == []


async def test_the_openapi_document_states_the_bounds(service: NightLogsService) -> None:
    async with service.running() as client:
        document = (await client.get("/openapi.json")).json()
    schemas = document["components"]["schemas"]
    planned_in = next(s for n, s in schemas.items() if n.endswith("PlannedObservationIn"))
    assert planned_in["properties"]["target"]["maxLength"] == NAME_LENGTH
    assert planned_in["properties"]["calibrators"]["maxItems"] == CALIBRATORS
    schedule = next(s for n, s in schemas.items() if n.endswith("ScheduleIn"))
    assert f"at most {PLANNED_OBSERVATIONS}" in schedule["properties"]["observations"]["description"]
