"""Granules are linked to the night-log observations they came from (programme, target, time overlap, or
the raw file the DRS names), whichever arrives first; a corrected log that withdraws an observation
drops its links. Link changes after indexing leave as granule.linked."""

from __future__ import annotations

from typing import Any

from harness import eventually
from oifits_support import RECENT, OifitsService, log, observation, oifits, push


async def _links(client: Any, service: OifitsService, granule: str) -> list[tuple[str, str]]:
    answer = await client.get(f"/oifits/granules/{granule}", headers=service.drs())
    return sorted((o["observation_id"], o["matched_by"]) for o in answer.json()["observations"])


async def _copied(service: OifitsService, n: int) -> bool:
    return bool(await service.scalar("SELECT count(*) FROM observation") == n)


async def test_a_push_finds_the_observations_already_logged(service: OifitsService) -> None:
    same = observation(target="hd_1")  # the log's spelling
    by_position = observation(target="HIP 123", start=RECENT - 0.02)
    other_programme = observation(programme="LP-9")
    other_time = observation(start=RECENT + 0.2, end=RECENT + 0.21)
    for event in (same, by_position, other_programme, other_time):
        await log(service, event)
    await service.programme("LP-1")
    async with service.running() as client:
        await eventually(lambda: _copied(service, 4))
        await eventually(lambda: service.scalar("SELECT count(*) FROM programme_rights"))
        record = (await push(client, oifits(), service.drs())).json()
        links = await _links(client, service, record["granules"][0]["id"])
    assert links == sorted(
        [(str(same.observation_id), "name"), (str(by_position.observation_id), "position")]
    )
    (event,) = await eventually(lambda: service.events("file.indexed"))
    assert sorted(event["granules"][0]["observation_ids"]) == sorted(
        [str(same.observation_id), str(by_position.observation_id)]
    )


async def test_an_observation_logged_later_links_and_announces_then_a_withdrawal_unlinks(
    service: OifitsService,
) -> None:
    async with service.running() as client:
        record = (await push(client, oifits(programme=None), service.drs())).json()
        granule = record["granules"][0]["id"]
        assert await _links(client, service, granule) == []
        later = observation()
        await log(service, later)
        assert await eventually(lambda: _links(client, service, granule)) == [
            (str(later.observation_id), "name")
        ]
        (linked,) = await eventually(lambda: service.events("granule.linked"))
        assert (linked["granule_id"], linked["observation_ids"]) == (granule, [str(later.observation_id)])
        # the file named no programme: it takes its observation's
        assert (await client.get(f"/oifits/granules/{granule}", headers=service.drs())).json()[
            "programme"
        ] == "LP-1"
        withdrawn = observation(observation_id=later.observation_id, version=2, withdrawn=True)
        await log(service, withdrawn)
        assert await eventually(lambda: _unlinked(client, service, granule))
        events = await eventually(lambda: _n(service, "granule.linked", 2))
    assert events[1]["observation_ids"] == []


async def _unlinked(client: Any, service: OifitsService, granule: str) -> bool:
    return await _links(client, service, granule) == []


async def _n(service: OifitsService, subject: str, n: int) -> list[dict[str, Any]] | None:
    found = await service.events(subject)
    return found if len(found) == n else None


async def test_the_raw_file_named_by_the_drs_links_whatever_the_times(service: OifitsService) -> None:
    raw = observation(target="Somewhere else", start=RECENT - 3, end=RECENT - 2.9,
                      raw_files=["SPICA.2026-05-12T06:00:00.fits"])  # fmt: skip
    await log(service, raw)
    async with service.running() as client:
        await eventually(lambda: _copied(service, 1))
        record = (await push(client, oifits(arcfile="SPICA.2026-05-12T06:00:00.fits"), service.drs())).json()
        links = await _links(client, service, record["granules"][0]["id"])
    assert links == [(str(raw.observation_id), "raw-file")]


async def test_a_redelivered_observation_links_once(service: OifitsService) -> None:
    async with service.running() as client:
        record = (await push(client, oifits(), service.drs())).json()
        later = observation()
        envelope = await service.publish(later, str(later.observation_id))
        await service.redeliver(later, envelope)
        await eventually(service.drained)
        links = await _links(client, service, record["granules"][0]["id"])
    assert links == [(str(later.observation_id), "name")]
    assert len(await service.events("granule.linked")) == 1
