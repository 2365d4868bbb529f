"""Data rights on every path: before its release (end of the observation plus the programme's
proprietary period) a granule and its links are seen by the programme's members only (with a token),
by admins and trusted robots; after it by everyone, anonymous VO tools included. Calibrators are
released when observed. A changed proprietary period applies at once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from harness import eventually
from oidb_support import OidbService, ago, granule, indexed, listing, proprietary, push, votable_rows


async def seen(client: Any, service: OidbService, who: str | None, *scopes: str) -> dict[str, list[str]]:
    """The targets ``who`` (None: anonymous) sees in the listing, by granule id and by DataLink."""
    headers = service.auth(who, *scopes) if who else {}
    admin = await listing(client, service.auth("root", "admin"), superseded="true")
    names = sorted(i["target_name"] for i in await listing(client, headers))
    detail, linked = [], []
    for item in admin:
        response = await client.get(f"/oidb/granules/{item['granule_id']}", headers=headers)
        assert response.status_code in (200, 404), response.text
        if response.status_code == 200:
            detail.append(item["target_name"])
        links = await client.get("/oidb/links", params={"ID": item["obs_publisher_did"]}, headers=headers)
        rows = votable_rows(links.text)[1]
        if not rows[0]["error_message"]:
            linked.append(item["target_name"])
    return {"listing": names, "detail": sorted(detail), "links": sorted(linked)}


def everywhere(*names: str) -> dict[str, list[str]]:
    return {"listing": sorted(names), "detail": sorted(names), "links": sorted(names)}


async def test_proprietary_granules_are_seen_by_members_only(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    await push(service, indexed(
        granule("Vega"),  # an hour ago: proprietary for 18 months
        granule("Deneb", end=datetime(2020, 1, 10, 5, tzinfo=UTC)),  # released in 2021
        granule("HD 1234", category="CALIB"),  # a calibrator: released when observed
        granule("Altair", programme="LP-X"),  # a programme nobody announced
    ))  # fmt: skip
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        for who in ("ada", "bob"):
            assert await seen(client, service, who) == everywhere("Vega", "Deneb", "HD 1234"), who
        for who in (None, "eve"):
            assert await seen(client, service, who) == everywhere("Deneb", "HD 1234"), who
        assert await seen(client, service, "root", "admin") == everywhere(
            "Vega", "Deneb", "HD 1234", "Altair"
        )
        # what VO tools are told (OiDB's filter: data_rights = 'public' OR obs_release_date < now)
        rights = {
            i["target_name"]: i["data_rights"] for i in await listing(client, service.auth("root", "admin"))
        }
        assert rights == {"Vega": "secure", "Deneb": "public", "HD 1234": "public", "Altair": "secure"}
        # a bad token is refused, not taken for anonymous
        bad = await client.get("/oidb/granules", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401


async def test_a_trusted_robot_sees_every_granule(service: OidbService) -> None:
    await service.programme("LP-1", months=18)
    await push(service, indexed(granule("Vega")))
    async with service.running(trusted_clients="harvester") as client:
        await eventually(service.drained, timeout=10)
        assert [i["target_name"] for i in await listing(client, service.robot("harvester"))] == ["Vega"]
        assert await listing(client, service.robot("other")) == []


async def test_a_changed_proprietary_period_applies_at_once(service: OidbService) -> None:
    programme_id = await service.programme("LP-1", pi="ada", months=120)
    end = datetime(2023, 1, 10, 5, tzinfo=UTC)
    await push(service, indexed(granule("Vega", end=end)))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await listing(client) == []
        [item] = await listing(client, service.auth("ada"))
        assert (item["data_rights"], item["obs_release_date"][:10]) == ("secure", "2033-01-10")
        await proprietary(service, programme_id, "LP-1", 12, 120)
        await eventually(service.drained, timeout=10)
        [item] = await listing(client)
        assert (item["data_rights"], item["obs_release_date"][:19]) == ("public", "2024-01-10T05:00:00")
        # no proprietary period: released when observed
        await proprietary(service, programme_id, "LP-1", 0, 12)
        await eventually(service.drained, timeout=10)
        [item] = await listing(client)
        assert item["obs_release_date"][:19] == "2023-01-10T05:00:00"


async def test_months_zero_releases_a_granule_when_observed(service: OidbService) -> None:
    await service.programme("LP-0", months=0)
    await push(service, indexed(granule("Vega", programme="LP-0", end=ago(minutes=5))))
    async with service.running() as client:
        [item] = await eventually(lambda: listing(client), timeout=10)
        assert item["data_rights"] == "public"
