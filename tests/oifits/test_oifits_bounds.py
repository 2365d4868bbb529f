"""What a push puts in the oifits events is bounded (spicadb_contracts.bounds): a header value longer than its
event field, or a product id longer than an identifier, is refused with a problem naming it, so that no
file.indexed event can be one consumers refuse or NATS cannot carry (issue 12)."""

from __future__ import annotations

from harness import eventually
from oifits_support import RECENT, OifitsService, log, observation, oifits, push

from spicadb_contracts.bounds import IDENTIFIER_LENGTH, LINKED_OBSERVATIONS, SHORT_TEXT_LENGTH


async def indexed_events(service: OifitsService) -> int:
    return int(
        await service.scalar(
            "SELECT count(*) FROM outbox WHERE event_type = $1", "org.jmmc.spicadb.oifits.file.indexed.v1"
        )
    )


async def test_a_header_value_longer_than_its_event_field_refuses_the_file(service: OifitsService) -> None:
    # ARCFILE (the granules' obs_id) written over CONTINUE cards: FITS allows it, the event cannot carry it
    long_arcfile = "SPICA." + "A" * SHORT_TEXT_LENGTH + ".fits"
    async with service.running() as client:
        answer = await push(client, oifits(arcfile=long_arcfile), service.drs())
    assert answer.status_code == 422, answer.text
    findings = [f for f in answer.json()["report"]["findings"] if f["rule"] == "R-BOUNDS"]
    assert findings, answer.json()["report"]
    assert "obs_id" in findings[0]["message"]
    counts = await service.counts()
    assert (counts["oifits_file"], counts["granule"], counts["rejection"]) == (0, 0, 1)
    assert await indexed_events(service) == 0


async def test_a_product_id_longer_than_an_identifier_is_refused(service: OifitsService) -> None:
    async with service.running() as client:
        longest = await push(client, oifits(), service.drs(), product="P" * IDENTIFIER_LENGTH)
        too_long = await push(
            client, oifits(target="HD 2"), service.drs(), product="P" * (IDENTIFIER_LENGTH + 1)
        )
        with_a_line_break = await push(client, oifits(target="HD 3"), service.drs(), product="P1\n")
    assert longest.status_code == 201, longest.text
    for refused in (too_long, with_a_line_break):
        assert refused.status_code == 422, refused.text
        assert [e["field"] for e in refused.json()["errors"]] == ["query.product"]
    assert await indexed_events(service) == 1


async def test_a_granule_links_at_most_as_many_observations_as_its_events_carry(
    service: OifitsService,
) -> None:
    # more observations of the granule's target and time than file.indexed and granule.linked may list
    many = [observation(start=RECENT - 0.01 - i * 1e-5) for i in range(LINKED_OBSERVATIONS + 1)]
    for event in many:
        await log(service, event)
    async with service.running() as client:
        await eventually(lambda: copied(service, len(many)))
        record = (await push(client, oifits(), service.drs())).json()
        later = observation()  # the granule is full: a later observation is not linked
        await log(service, later)
        await eventually(lambda: copied(service, len(many) + 1))
        granule = (
            await client.get(f"/oifits/granules/{record['granules'][0]['id']}", headers=service.drs())
        ).json()
    assert len(granule["observations"]) == LINKED_OBSERVATIONS
    assert str(later.observation_id) not in {o["observation_id"] for o in granule["observations"]}
    (indexed,) = await eventually(lambda: service.events("file.indexed"))
    assert len(indexed["granules"][0]["observation_ids"]) == LINKED_OBSERVATIONS
    assert await service.events("granule.linked") == []


async def copied(service: OifitsService, n: int) -> bool:
    return bool(await service.scalar("SELECT count(*) FROM observation") == n)
