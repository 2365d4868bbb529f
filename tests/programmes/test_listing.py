"""Target listings: keyset pages that neither repeat nor skip a target in any sort order, and the
filters (work package, magnitude range, a right ascension window across 0h)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest
from programmes_support import Client, ProgrammesService, create_programme, import_json, problem, star, stars


async def pages(
    client: Client, service: ProgrammesService, query: str = "", limit: int = 100
) -> list[list[dict[str, Any]]]:
    """Every page of the listing, following ``next``."""
    found: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params = [*parse_qsl(query), ("limit", str(limit))]  # (httpx's params replace a URL's query)
        if cursor is not None:
            params.append(("cursor", cursor))
        answer = await client.get("/programmes/LP-1/targets/", params=params, headers=service.auth("ada"))
        assert answer.status_code == 200, answer.text
        page = answer.json()
        found.append(page["items"])
        cursor = page["next"]
        if cursor is None:
            return found
        assert len(found) < 20, "the listing never ends"


@pytest.mark.parametrize(
    ("query", "key", "descending"),
    [
        ("", lambda t: t["name"].lower(), False),
        ("sort=ra", lambda t: t["ra"], False),
        ("sort=ra&order=desc", lambda t: t["ra"], True),
        ("sort=name&order=desc", lambda t: t["name"].lower(), True),
        ("sort=mag_v", lambda t: float("inf") if t["mag_v"] is None else t["mag_v"], False),
    ],
)
async def test_250_targets_come_in_three_pages_without_gaps_or_repeats(
    service: ProgrammesService, query: str, key: Any, descending: bool
) -> None:
    listed = stars(250)
    for k, t in enumerate(listed):
        if k % 3:
            t["mag_v"] = float(k % 7)  # ties, and some targets without V (sorted last)
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", listed)).status_code == 201

        found = await pages(client, service, query)
        assert [len(p) for p in found] == [100, 100, 50]
        items = [t for p in found for t in p]
        assert len({t["id"] for t in items}) == 250
        assert {t["name"] for t in items} == {t["name"] for t in listed}
        values = [key(t) for t in items]
        assert values == sorted(values, reverse=descending)


async def test_a_page_exactly_at_the_end_has_no_next(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", stars(200))).status_code == 201
        assert [len(p) for p in await pages(client, service)] == [100, 100]


async def test_a_bad_cursor_is_a_400_problem(service: ProgrammesService) -> None:
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", stars(3))).status_code == 201
        first = (await client.get("/programmes/LP-1/targets/?limit=1", headers=service.auth("ada"))).json()
        for cursor in ("not-a-cursor", "bm9wZQ", "W10"):
            problem(
                await client.get(f"/programmes/LP-1/targets/?cursor={cursor}", headers=service.auth("ada")),
                400,
                "bad-cursor",
            )
        # a name cursor is not a right ascension cursor
        problem(
            await client.get(
                "/programmes/LP-1/targets/",
                params={"cursor": first["next"], "sort": "ra"},
                headers=service.auth("ada"),
            ),
            400,
            "bad-cursor",
        )
        problem(await client.get("/programmes/LP-1/targets/?mag=Q:1:2", headers=service.auth("ada")), 400)


async def test_filters_by_work_package_magnitude_and_a_window_across_0h(service: ProgrammesService) -> None:
    listed = [
        star("A", 355.0, 10.0, mag_v=5.0, work_package="WP1"),
        star("B", 5.0, 10.0, mag_v=9.0, work_package="WP1"),
        star("C", 180.0, 10.0, mag_v=4.0, work_package="WP2"),
        star("D", 359.9, -5.0, work_package="WP2"),
        star("E", 10.0, 20.0, mag_v=8.0),
        star("F", 11.0, 20.0, mag_v=7.5),
    ]
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", listed)).status_code == 201

        async def names(query: str) -> list[str]:
            answer = await client.get(f"/programmes/LP-1/targets/?{query}", headers=service.auth("ada"))
            assert answer.status_code == 200, answer.text
            return [t["name"] for t in answer.json()["items"]]

        assert await names("work_package=WP1") == ["A", "B"]
        assert await names("work_package=WP2") == ["C", "D"]
        assert await names("mag=V:4:8") == ["A", "C", "E", "F"]
        assert await names("mag=V:4:7") == ["A", "C"]
        assert await names("mag=V::5") == ["A", "C"]
        assert await names("ra_min=350&ra_max=10") == ["A", "B", "D", "E"]
        # in the sky's order across 0h: 355, 359.9, then 5, 10
        assert await names("ra_min=350&ra_max=10&sort=ra") == ["A", "D", "B", "E"]
        assert await names("ra_min=350&ra_max=10&sort=ra&order=desc") == ["E", "B", "D", "A"]
        assert await names("ra_min=350&ra_max=10&mag=V:4:8&work_package=WP1") == ["A"]
        assert await names("ra_min=0&ra_max=10") == ["B", "E"]
        assert await names("dec_min=0&dec_max=15") == ["A", "B", "C"]
        assert await names("q=a") == ["A"]
        assert await names("progress=not-observed") == ["A", "B", "C", "D", "E", "F"]
        assert await names("progress=done") == []

        # the export takes the same filters
        exported = await client.get(
            "/programmes/LP-1/targets/export?format=json&ra_min=350&ra_max=10", headers=service.auth("ada")
        )
        assert exported.status_code == 200
        assert [t["name"] for t in exported.json()["targets"]] == ["A", "B", "D", "E"]

        # and a window across 0h pages like any other
        found = await pages(client, service, "ra_min=350&ra_max=10&sort=ra", limit=1)
        assert [t["name"] for p in found for t in p] == ["A", "D", "B", "E"]
