"""Targets are read into their structs by the kit's rows helpers; a target stored before the rules
were what they are now (a proper motion beyond them) is still read as it is, one target, a listing
and an export: the rules name it when it is changed (test_target_rules), reading it is no 500."""

from __future__ import annotations

from programmes_support import ProgrammesService, create_programme, star

HUGE = 1.79e308


async def test_a_target_stored_before_the_rules_is_read_as_it_is(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        ada = service.auth("ada")
        for name, ra in (("Vega", 279.2347), ("Deneb", 310.358)):
            created = await client.post("/programmes/LP-1/targets/", json=star(name, ra, 38.0), headers=ada)
            assert created.status_code == 201, created.text
        vega = await service.scalar("SELECT id FROM target WHERE name = 'Vega'")
        await service.scalar("UPDATE target SET pmra = $1 WHERE id = $2", HUGE, vega)  # a row of old

        one = await client.get(f"/programmes/LP-1/targets/{vega}", headers=ada)
        assert one.status_code == 200, one.text
        assert one.json()["pmra"] == HUGE
        listed = await client.get("/programmes/LP-1/targets/", headers=ada)
        assert listed.status_code == 200, listed.text
        assert [(t["name"], t["pmra"]) for t in listed.json()["items"]] == [("Deneb", None), ("Vega", HUGE)]
        exported = await client.get("/programmes/LP-1/targets/export?format=json", headers=ada)
        assert exported.status_code == 200, exported.text
        assert [t["name"] for t in exported.json()["targets"]] == ["Deneb", "Vega"]
