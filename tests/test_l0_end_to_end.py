"""End to end through NATS, three services together: a programme's target is planned by the scheduler
and logged by CHARA in nightlogs; the observation appears in the L0 view (obsportal) within seconds,
visible to the programme's members only; a quality flag follows; the programme's progress moves."""

from __future__ import annotations

from typing import Any

from harness import eventually
from nats.js import JetStreamContext
from nightlogs_support import FLAG, NIGHT, SCHEDULE, NightLogsService, at, csv_log, line, post_log
from obsportal_support import ObsportalService, votable_rows
from programmes_support import ProgrammesService

from spicadb_kit.infra import NatsServer
from spicadb_kit.testing.tokens import TokenFactory

SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]
VEGA = {"name": "Vega", "ra": 279.2347, "dec": 38.7837}


async def test_a_plan_and_a_log_reach_the_l0_view_flags_follow_and_progress_moves(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer, tokens: TokenFactory
) -> None:
    programmes = ProgrammesService(database, nats_server.url, tokens, jetstream)
    nightlogs = NightLogsService(database, nats_server.url, tokens, jetstream)
    obsportal = ObsportalService(database, nats_server.url, tokens, jetstream)
    for service in (programmes, nightlogs, obsportal):
        await service.install()
    ada = programmes.auth("ada")  # the PI
    member = obsportal.auth("ada", "nightlogs:read")
    stranger = obsportal.auth("bob", "nightlogs:read")
    try:
        async with programmes.running() as p, nightlogs.running() as n, obsportal.running() as o:
            # the programme: Vega, a 6T LR setup, two visits asked for
            assert (
                await p.post("/programmes/", json={"code": "LP-1", "title": "Giants"}, headers=ada)
            ).status_code == 201
            vega = (await p.post("/programmes/LP-1/targets/", json=VEGA, headers=ada)).json()["id"]
            setup = {"name": "lr6", "mode": "LR", "configuration": SIX}
            assert (await p.post("/programmes/LP-1/setups", json=setup, headers=ada)).status_code == 201
            request = {"target_id": vega, "setup": "lr6", "visits": 2}
            assert (await p.post("/programmes/LP-1/requests", json=request, headers=ada)).status_code == 201

            # nightlogs and obsportal learn the target and the rights from the programmes events
            await eventually(lambda: nightlogs.scalar("SELECT count(*) FROM programme_target"))
            await eventually(lambda: obsportal.scalar("SELECT count(*) FROM programme_rights"))

            # the scheduler plans the night, CHARA observes and logs it
            plan = {"observations": [{"programme": "LP-1", "target": "Vega", "mode": "LR", "configuration": SIX,
                                      "start": at(3).isoformat(), "end": at(4).isoformat()}]}  # fmt: skip
            scheduled = await n.post(
                f"/nightlogs/schedules/CHARA/{NIGHT}",
                json=plan,
                headers=nightlogs.robot("scheduler", *SCHEDULE),
            )
            assert scheduled.status_code == 201, scheduled.text
            logged = await post_log(n, nightlogs, csv_log(line("Vega", 3.1)))
            assert logged.status_code == 201, logged.text
            (observation,) = logged.json()["added"]

            # the L0 view: the exposure, matched to the programme's target and its plan
            async def exposures(headers: dict[str, str]) -> list[dict[str, Any]]:
                answer = await o.get("/obsportal/exposures", headers=headers)
                assert answer.status_code == 200, answer.text
                return list(answer.json()["items"])

            (exposure,) = await eventually(lambda: exposures(member))
            assert (exposure["target_name"], exposure["programme"], exposure["mode"]) == (
                "Vega",
                "LP-1",
                "LR",
            )
            assert exposure["observation_id"] == observation
            assert exposure["planned_sequence"] == 1
            assert len(exposure["baselines"]) == 15
            assert exposure["validation"]["level"] == "unknown"

            # proprietary: not for a stranger, not for Aspro2 without a token; the member sees it
            assert await exposures(stranger) == []
            aspro2 = {"ra": str(VEGA["ra"]), "dec": str(VEGA["dec"]), "radius": "30.0", "all_fields": "false"}
            anonymous = await o.post("/obsportal/search.votable", data=aspro2)
            assert anonymous.status_code == 200
            assert votable_rows(anonymous.text)[1] == []
            mine = await o.post("/obsportal/search.votable", data=aspro2, headers=member)
            assert [row["target_name"] for row in votable_rows(mine.text)[1]] == ["Vega"]

            # the programme's progress moves: planned and observed
            async def progress() -> dict[str, Any]:
                (row,) = (await p.get("/programmes/LP-1/requests", headers=ada)).json()["items"]
                return dict(row["progress"])

            await eventually(lambda: _has(progress, planned=1, observed=1))

            # the night astronomer flags it good: the view and the progress follow
            flag = {"level": "good", "comment": "clean fringes"}
            flagged = await n.post(
                f"/nightlogs/observations/{observation}/flags",
                json=flag,
                headers=nightlogs.auth("nina", *FLAG),
            )
            assert flagged.status_code == 201, flagged.text
            await eventually(lambda: _flagged(exposures, member))
            counts = await eventually(lambda: _has(progress, good=1))
            assert counts == {"requested": 2, "planned": 1, "observed": 1, "good": 1, "state": "partial"}
    finally:
        for service in (programmes, nightlogs, obsportal):
            await service.close()


async def _has(read: Any, **wanted: int) -> dict[str, Any] | None:
    now: dict[str, Any] = await read()
    return now if all(now[k] == v for k, v in wanted.items()) else None


async def _flagged(read: Any, headers: dict[str, str]) -> bool:
    (exposure,) = await read(headers)
    return bool(exposure["validation"]["exp_validation_level"] == 1)
