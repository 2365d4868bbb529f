"""One problem type, one title: the target lists' problems answer the titles their catalogued types
have everywhere (they were titled apart: 'Bad Request' for validation, 'Unsupported target list
format' for the kit's unsupported-media-type, 'Unreadable target list' beside 'Unprocessable Entity')."""

from __future__ import annotations

from programmes_support import ProgrammesService, create_programme, problem

IMPORT = "/programmes/LP-1/targets/import"


async def test_a_wrong_filter_is_the_kits_validation_problem(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        answer = await client.get(
            "/programmes/LP-1/targets", params={"mag": "Z:1:2"}, headers=service.auth("ada")
        )
        assert problem(answer, 400, "validation")["title"] == "Invalid request"


async def test_a_list_of_an_unknown_media_type_is_the_kits_415(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        headers = {**service.auth("ada"), "content-type": "image/png"}
        answer = await client.post(IMPORT, content=b"\x89PNG", headers=headers)
        assert problem(answer, 415, "unsupported-media-type")["title"] == "Unsupported Media Type"


async def test_an_unreadable_list_and_a_list_of_wrong_rows_have_one_title(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        headers = {**service.auth("ada"), "content-type": "text/csv"}
        unreadable = await client.post(IMPORT, content=b"   \n", headers=headers)
        wrong_rows = await client.post(IMPORT, content=b"name,ra,dec\nx,400,100\n", headers=headers)
        titles = {problem(a, 422, "invalid-target-list")["title"] for a in (unreadable, wrong_rows)}
        assert titles == {"Unprocessable Entity"}
