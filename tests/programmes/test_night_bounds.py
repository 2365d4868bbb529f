"""The observability filter is computed for a night at CHARA: a date beyond what the sky computation
covers (up to the calendar's last day, whose next noon does not exist) is a 400 naming the parameter."""

from __future__ import annotations

from programmes_support import ProgrammesService, create_programme, fields, import_json, problem, stars


async def test_observable_on_outside_the_covered_nights_is_a_400(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", stars(3))).status_code == 201
        answers = {
            (route, night): await client.get(
                f"/programmes/LP-1/targets/{route}",
                params={"observable_on": night},
                headers=service.auth("ada"),
            )
            for route in ("", "export")
            for night in ("9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01")
        }
        inside = await client.get(
            "/programmes/LP-1/targets/", params={"observable_on": "2026-05-14"}, headers=service.auth("ada")
        )
    for asked, response in answers.items():
        assert fields(problem(response, 400, "validation")) == ["query.observable_on"], asked
    assert inside.status_code == 200, inside.text
