"""The targets listing pages with the kit's cursors: the ``Link`` header leads through every page with
the query kept (a creation-time sort whose targets all share one time, a window across 0h); a cursor of
the listing's old format is a 400 bad-cursor."""

from __future__ import annotations

import base64
from typing import Any

import msgspec
from programmes_support import Client, ProgrammesService, create_programme, import_json, problem, stars


async def _walk(client: Client, url: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = await client.get(url, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        link = page.headers.get("link")
        assert (link is None) == (page.json()["next"] is None), link
        if link is None:
            return items
        url = link[1 : link.index(">")]
        assert "sort=" in url, url  # the query is kept


async def test_the_link_header_leads_through_every_page(service: ProgrammesService) -> None:
    ada = service.auth("ada")
    listed = stars(30)  # RA 0.5 + 1.4 k degrees: 0.5 .. 41.1
    async with service.running() as client:
        await create_programme(client, service)
        assert (await import_json(client, service, "LP-1", listed)).status_code == 201
        by_creation = await _walk(client, "/programmes/LP-1/targets/?sort=created&order=desc&limit=7", ada)
        across_0h = await _walk(client, "/programmes/LP-1/targets/?sort=ra&ra_min=30&ra_max=10&limit=4", ada)
        old = base64.urlsafe_b64encode(msgspec.json.encode(["star 00001", listed[1]["name"]])).decode()
        refused = await client.get(
            "/programmes/LP-1/targets/", params={"cursor": old.rstrip("=")}, headers=ada
        )
    assert sorted(t["name"] for t in by_creation) == sorted(t["name"] for t in listed)
    assert len({t["id"] for t in by_creation}) == 30
    ras = [t["ra"] for t in across_0h]
    assert ras == sorted(r for r in ras if r >= 30) + sorted(r for r in ras if r <= 10)
    assert len(ras) == len([t for t in listed if t["ra"] >= 30 or t["ra"] <= 10])
    problem(refused, 400, "bad-cursor")
