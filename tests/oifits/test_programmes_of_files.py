"""Files of no programme (issue 12): released a default period (12 months) after their observation,
calibrators when observed; an admin attaches a file to a programme and its members see it."""

from __future__ import annotations

from typing import Any

import msgspec
from harness import eventually
from oifits_support import OifitsService, log, observation, oifits, push
from synthetic import mjd

YEAR_2005 = mjd("2005-03-14T06:00")
ADMIN = ("root", "admin")


async def _pushed(service: OifitsService, client: Any, data: bytes) -> dict[str, Any]:
    answer = await push(client, data, service.drs())
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def _programmes(service: OifitsService, n: int) -> bool:
    return bool(await service.scalar("SELECT count(*) FROM programme_rights") == n)


async def test_files_of_no_programme_are_released_after_the_default_period(service: OifitsService) -> None:
    async with service.running() as client:
        old = await _pushed(service, client, oifits(programme=None, at=(YEAR_2005,), target="HD 10"))
        recent = await _pushed(service, client, oifits(programme=None, target="HD 11"))
        calibrator = await _pushed(service, client, oifits(programme=None, target="HD 12", category="CAL"))
        anonymous = {f["id"]: await client.get(f"/oifits/files/{f['id']}") for f in (old, recent, calibrator)}
        content = await client.get(f"/oifits/files/{old['id']}/content")
        listed = (await client.get("/oifits/files")).json()["items"]
        as_admin = (await client.get(f"/oifits/files/{recent['id']}", headers=service.auth(*ADMIN))).json()
    assert anonymous[old["id"]].status_code == 200
    assert anonymous[old["id"]].json()["release_date"].startswith("2006-03-14T06:00")
    assert content.status_code == 200
    assert anonymous[recent["id"]].status_code == 404
    assert anonymous[calibrator["id"]].status_code == 200
    assert {f["id"] for f in listed} == {old["id"], calibrator["id"]}
    assert as_admin["release_date"][:4] == "2027"  # observed in May 2026


async def test_an_admin_attaches_a_file_to_a_programme(service: OifitsService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    async with service.running() as client:
        await eventually(lambda: _programmes(service, 1))
        record = await _pushed(service, client, oifits(programme=None))
        path = f"/oifits/files/{record['id']}"
        before = await client.get(path, headers=service.auth("bob"))
        refused = await client.put(
            f"{path}/programme", json={"programme": "LP-1"}, headers=service.auth("mallory", "oifits:read")
        )
        unknown = await client.put(
            f"{path}/programme", json={"programme": "LP-9"}, headers=service.auth(*ADMIN)
        )
        missing = await client.put(
            f"/oifits/files/{record['id'][:-4]}0000/programme", json={"programme": "LP-1"},
            headers=service.auth(*ADMIN),
        )  # fmt: skip
        attached = await client.put(
            f"{path}/programme", json={"programme": "LP-1"}, headers=service.auth(*ADMIN)
        )
        bob = await client.get(path, headers=service.auth("bob"))
        content = await client.get(f"{path}/content", headers=service.auth("bob"))
        anonymous = await client.get(path)
    assert before.status_code == 404
    assert refused.status_code == 403
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.programme"
    assert missing.status_code == 404
    assert attached.status_code == 200, attached.text
    assert attached.json()["programme"] == "LP-1"
    assert [g["programme"] for g in attached.json()["granules"]] == ["LP-1"]
    assert (bob.status_code, content.status_code, anonymous.status_code) == (200, 200, 404)
    (event,) = await eventually(lambda: service.events("file.programme_assigned"))
    assert (event["file_id"], event["programme"], event["previous_programme"]) == (record["id"], "LP-1", None)
    assert event["granule_ids"] == [g["id"] for g in record["granules"]]
    assert event["assigned_by"] == "root"


async def test_an_observation_attached_to_a_programme_brings_its_linked_granules(
    service: OifitsService,
) -> None:
    """nightlogs announces an admin's attachment as the observation's observation.logged again, with the
    programme: the granules already linked to it take that programme, and granule.linked says so."""
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    unplaced = observation(programme=None)
    async with service.running() as client:
        await eventually(lambda: _programmes(service, 1))
        await log(service, unplaced)
        await eventually(lambda: service.scalar("SELECT count(*) FROM observation"))
        record = await _pushed(service, client, oifits(programme=None))
        granule = record["granules"][0]
        assert [o["observation_id"] for o in granule["observations"]] == [str(unplaced.observation_id)]
        assert (
            await client.get(f"/oifits/files/{record['id']}", headers=service.auth("bob"))
        ).status_code == 404
        await log(service, msgspec.structs.replace(unplaced, programme="LP-1"))
        linked = await eventually(lambda: _linked_to(service, "LP-1"))
        bob = await client.get(f"/oifits/files/{record['id']}", headers=service.auth("bob"))
    assert linked["granule_id"] == granule["id"]
    assert bob.status_code == 200
    assert bob.json()["programme"] == "LP-1"


async def _linked_to(service: OifitsService, programme: str) -> dict[str, Any] | None:
    found = [e for e in await service.events("granule.linked") if e.get("programme") == programme]
    return found[0] if found else None


async def test_a_new_reduction_of_an_attached_product_keeps_its_programme(service: OifitsService) -> None:
    await service.programme("LP-1", pi="ada", members=["bob"], months=18)
    async with service.running() as client:
        await eventually(lambda: _programmes(service, 1))
        first = await push(client, oifits(programme=None), service.drs(), product="LR/2026-05-14/HD1")
        assert first.status_code == 201, first.text
        attached = await client.put(
            f"/oifits/files/{first.json()['id']}/programme",
            json={"programme": "LP-1"},
            headers=service.auth(*ADMIN),
        )
        assert attached.status_code == 200, attached.text
        data = oifits(programme=None, extra={"PROCSOFT": "spica-drs 2.1"})
        second = await push(client, data, service.drs(), product="LR/2026-05-14/HD1")
        assert second.status_code == 201, second.text
        bob = await client.get(f"/oifits/files/{second.json()['id']}", headers=service.auth("bob"))
    assert second.json()["programme"] == "LP-1"
    assert [g["programme"] for g in second.json()["granules"]] == ["LP-1"]
    assert bob.status_code == 200
