"""Observations of no programme (issue 12): released a default period (12 months) after their end on
every path, with that release date in ObsPortal's exp_date_release; calibrators when observed; an
observation an admin attached to a programme in nightlogs (its observation.logged again, with the
programme) is its members' from then on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from harness import eventually
from obsportal_support import ObsportalService, log, logged, now, votable_rows

VEGA = (279.2347, 38.7837)
ASPRO2 = {"ra": str(VEGA[0]), "dec": str(VEGA[1]), "radius": "30.0", "all_fields": "false"}


async def searched(client: Any, headers: dict[str, str]) -> dict[str, dict[str, str]]:
    answer = await client.post("/obsportal/search.votable", data=ASPRO2, headers=headers)
    assert answer.status_code == 200, answer.text
    return {r["target_name"]: r for r in votable_rows(answer.text)[1]}


async def test_observations_of_no_programme_are_released_after_the_default_period(
    service: ObsportalService,
) -> None:
    await log(service, logged("Vega 2005", *VEGA, programme=None, start=datetime(2005, 3, 14, 5, tzinfo=UTC)))
    await log(service, logged("Vega now", *VEGA, programme=None, start=now() - timedelta(hours=2)))
    await log(
        service, logged("HD 1", *VEGA, programme=None, kind="calibrator", start=now() - timedelta(hours=2))
    )
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        anonymous = await searched(client, {})
        admin = await searched(client, service.auth("root", "admin"))
        rest = (await client.get("/obsportal/exposures", headers=service.auth("eve"))).json()["items"]
    assert sorted(anonymous) == ["HD 1", "Vega 2005"]
    assert anonymous["Vega 2005"]["exp_date_release"] == "2006-03-14 05:20:00+00:00"
    assert sorted(admin) == ["HD 1", "Vega 2005", "Vega now"]
    assert admin["Vega now"]["exp_date_release"][:4] in {str(now().year + 1), str(now().year)}
    assert admin["Vega now"]["exp_date_release"] > now().isoformat(" ")[:19]
    assert sorted(i["target_name"] for i in rest) == ["HD 1", "Vega 2005"]


async def test_an_observation_attached_to_a_programme_is_its_members(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    observation = logged("Vega", *VEGA, programme=None, start=now() - timedelta(hours=2))
    await log(service, observation)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await searched(client, service.auth("bob")) == {}
        # nightlogs announces the attachment as the observation's state again, with its programme
        await log(service, msgspec.structs.replace(observation, programme="LP-1"))
        await eventually(service.drained, timeout=10)
        bob = await searched(client, service.auth("bob"))
        anonymous = await searched(client, {})
    assert bob["Vega"]["obs_program"] == "LP-1"
    assert anonymous == {}
