"""Granules of no programme (issue 12): released a default period (12 months) after their
observation, with that release date in the table VO tools read; calibrators when observed; an admin's
attachment of their file to a programme (oifits.file.programme_assigned) gives them its rights."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from harness import eventually
from oidb_support import OidbService, granule, indexed, listing, now, push

from spicadb_contracts.oifits import FileProgrammeAssigned

YEAR_2005 = datetime(2005, 3, 14, 6, tzinfo=UTC)


async def test_granules_of_no_programme_are_released_after_the_default_period(service: OidbService) -> None:
    await push(service, indexed(
        granule("HD 10", programme=None, end=YEAR_2005),  # a 2005 file of no programme
        granule("HD 11", programme=None),  # observed an hour ago
        granule("HD 12", programme=None, category="CALIB"),
    ))  # fmt: skip
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        anonymous = sorted(i["target_name"] for i in await listing(client))
        table = {
            r["target_name"]: (r["data_rights"], r["obs_release_date"])
            for r in await service.fetch("SELECT * FROM oidb_granule")
        }
    assert anonymous == ["HD 10", "HD 12"]
    assert table["HD 10"] == ("public", datetime(2006, 3, 14, 6, tzinfo=UTC))
    assert table["HD 11"][0] == "secure"
    assert table["HD 11"][1] is not None
    assert table["HD 11"][1] > now() + timedelta(days=360)  # a year after its observation
    assert table["HD 12"][0] == "public"


async def test_an_admin_attaching_the_file_gives_the_programme_its_granules(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    file = indexed(granule("Vega", programme=None))
    await push(service, file)
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await listing(client, service.auth("bob")) == []
        event = FileProgrammeAssigned(
            file_id=file.file_id, programme="LP-1", previous_programme=None,
            granule_ids=[g.granule_id for g in file.granules], assigned_by="root", assigned_at=now(),
        )  # fmt: skip
        await service.publish(event, str(file.file_id))
        await eventually(service.drained, timeout=10)
        [item] = await listing(client, service.auth("bob"))
        assert (item["target_name"], item["programme"]) == ("Vega", "LP-1")
        assert await listing(client) == []
        assert await listing(client, service.auth("eve")) == []
