"""The export of a selection: ``id`` (repeated) keeps only those targets of the programme, with the other
filters still applied; ids of another programme's targets export nothing; the list is bounded."""

from __future__ import annotations

import uuid

from programmes_support import ProgrammesService, create_programme, fields, import_json, problem, star


async def test_the_export_of_chosen_targets_holds_those_and_no_other(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        await create_programme(client, service, "LP-2")
        listed = [star("A", 10.0, mag_v=5.0), star("B", 20.0, mag_v=9.0), star("C", 30.0, mag_v=6.0)]
        assert (await import_json(client, service, "LP-1", listed)).status_code == 201
        assert (await import_json(client, service, "LP-2", [star("Z", 40.0)])).status_code == 201

        async def ids(code: str) -> dict[str, str]:
            answer = await client.get(f"/programmes/{code}/targets/", headers=service.auth("ada"))
            return {t["name"]: t["id"] for t in answer.json()["items"]}

        mine, other = await ids("LP-1"), await ids("LP-2")

        async def exported(*params: tuple[str, str]) -> list[str]:
            answer = await client.get(
                "/programmes/LP-1/targets/export",
                params=[("format", "json"), *params],
                headers=service.auth("ada"),
            )
            assert answer.status_code == 200, answer.text
            return [t["name"] for t in answer.json()["targets"]]

        assert await exported(("id", mine["A"]), ("id", mine["C"])) == ["A", "C"]
        # the other filters still apply
        assert await exported(("id", mine["A"]), ("id", mine["B"]), ("mag", "V:4:6")) == ["A"]
        # a target of another programme is not one of this programme's
        assert await exported(("id", other["Z"])) == []
        assert await exported(("id", mine["B"]), ("id", other["Z"])) == ["B"]
        # the Aspro2 VOTable names only the chosen targets
        votable = await client.get(
            "/programmes/LP-1/targets/export",
            params=[("format", "votable"), ("id", mine["B"])],
            headers=service.auth("ada"),
        )
        assert votable.status_code == 200
        assert b"<TD>B</TD>" in votable.content
        assert b"<TD>A</TD>" not in votable.content


async def test_a_selection_is_bounded_and_its_ids_checked(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        many = [("id", str(uuid.uuid4())) for _ in range(201)]
        answer = await client.get("/programmes/LP-1/targets/export", params=many, headers=service.auth("ada"))
        assert fields(problem(answer, 400)) == ["query.id"]
        answer = await client.get(
            "/programmes/LP-1/targets/export", params={"id": "not-a-uuid"}, headers=service.auth("ada")
        )
        problem(answer, 400)
        # 200 is still a selection
        answer = await client.get(
            "/programmes/LP-1/targets/export", params=[*many[:200], ("format", "json")],
            headers=service.auth("ada"),
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        assert answer.json()["targets"] == []
