"""Data rights on every path: a proprietary observation is seen by its programme's members only
(REST with a token, search.votable and the cone search with an optional bearer token), by everyone
once released (the end of the observation plus the proprietary period), by admins always."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from harness import eventually
from obsportal_support import ObsportalService, log, logged, votable_rows

VEGA = (279.2347, 38.7837)
ASPRO2 = {"ra": str(VEGA[0]), "dec": str(VEGA[1]), "radius": "30.0", "all_fields": "false"}
SCS = {"RA": str(VEGA[0]), "DEC": str(VEGA[1]), "SR": "0.01"}


async def seen(client: Any, service: ObsportalService, who: str | None) -> dict[str, list[str]]:
    """The targets ``who`` (None: anonymous) sees on each path."""
    headers = service.auth(who) if who else {}
    rest = await client.get("/obsportal/exposures", headers=headers or service.auth("nobody"))
    if who is None:
        rest_names: list[str] = []  # the REST view needs a token: an anonymous caller sees nothing there
        assert (await client.get("/obsportal/exposures")).status_code == 401
    else:
        assert rest.status_code == 200, rest.text
        rest_names = sorted(i["target_name"] for i in rest.json()["items"])
    search = await client.post("/obsportal/search.votable", data=ASPRO2, headers=headers)
    cone = await client.get("/obsportal/scs", params={**SCS, "VERB": "3"}, headers=headers)
    harvest = await client.get("/obsportal/search.votable", params={"instrument": "SPICA"}, headers=headers)
    return {
        "rest": rest_names,
        "search": sorted(r["target_name"] for r in votable_rows(search.text)[1]),
        "scs": sorted(r["target_name"] for r in votable_rows(cone.text)[1]),
        "harvest": sorted(r["target_name"] for r in votable_rows(harvest.text)[1]),
    }


async def test_proprietary_observations_are_seen_by_members_only(service: ObsportalService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    # Vega now (proprietary), Vega* in 2020 (released: 18 months are over)
    await log(service, logged("Vega", *VEGA))
    await log(service, logged("Vega*", *VEGA, start=datetime(2020, 1, 10, 5, tzinfo=UTC)))
    # a programme nobody announced: only admins see its data
    await log(service, logged("Vega?", *VEGA, programme="LP-X"))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        both = ["Vega", "Vega*"]
        for who in ("ada", "bob"):
            assert await seen(client, service, who) == {
                "rest": both, "search": both, "scs": both, "harvest": both,
            }, who  # fmt: skip
        for who in (None, "eve"):
            view = await seen(client, service, who)
            assert view["search"] == view["scs"] == view["harvest"] == ["Vega*"], who
            assert view["rest"] == ([] if who is None else ["Vega*"])
        root = await client.get("/obsportal/scs", params=SCS, headers=service.auth("root", "admin"))
        assert len(votable_rows(root.text)[1]) == 3
        # a proprietary exposure does not exist for a non-member
        exp = (await client.get("/obsportal/exposures", params={"target": "vega"}, headers=service.auth("ada"))
               ).json()["items"]  # fmt: skip
        proprietary = next(i["exp_id"] for i in exp if i["target_name"] == "Vega")
        assert (
            await client.get(f"/obsportal/exposures/{proprietary}", headers=service.auth("eve"))
        ).status_code == 404
        assert (
            await client.get(f"/obsportal/exposures/{proprietary}", headers=service.auth("bob"))
        ).status_code == 200
        # a bad token on an anonymous route is refused, not silently ignored
        bad = await client.get("/obsportal/scs", params=SCS, headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401


async def test_a_shorter_proprietary_period_releases_the_data(service: ObsportalService) -> None:
    from spicadb_contracts.programmes import ProprietaryPeriodChanged

    programme_id = await service.programme("LP-1", pi="ada", months=120)
    await log(service, logged("Vega", *VEGA, start=datetime(2023, 1, 10, 5, tzinfo=UTC)))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert (await seen(client, service, None))["search"] == []
        await service.publish(
            ProprietaryPeriodChanged(programme_id=programme_id, code="LP-1", proprietary_months=12,
                                     previous_months=120, changed_by="ada", changed_at=datetime.now(UTC)),
            str(programme_id),
        )  # fmt: skip
        await eventually(service.drained, timeout=10)
        view = await seen(client, service, None)
        assert view["search"] == view["scs"] == ["Vega"]
        [row] = votable_rows((await client.post("/obsportal/search.votable", data=ASPRO2)).text)[1]
        assert row["exp_date_release"] == "2024-01-10 05:20:00+00:00"
