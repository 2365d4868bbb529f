"""The programmes and requests listings page with the kit's cursors: every row once, in order, by
following the ``Link`` header; a cursor no page gave (the bare codes and uuids of before too) is a 400
problem of type bad-cursor."""

from __future__ import annotations

from typing import Any

from programmes_support import Client, ProgrammesService, create_programme, problem, stars

SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]


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


async def test_programmes_and_requests_page_through_every_row(service: ProgrammesService) -> None:
    ada = service.auth("ada")
    async with service.running() as client:
        codes = [f"LP-{n}" for n in (3, 1, 5, 2, 4)]
        for code in codes:
            await create_programme(client, service, code)
        setup = await client.post(
            "/programmes/LP-1/setups", json={"name": "lr6", "mode": "LR", "configuration": SIX}, headers=ada
        )
        assert setup.status_code == 201, setup.text
        requests = []
        for target in stars(5):
            created = await client.post("/programmes/LP-1/targets/", json=target, headers=ada)
            assert created.status_code == 201, created.text
            request = await client.post(
                "/programmes/LP-1/requests",
                json={"target_id": created.json()["id"], "setup": "lr6", "visits": 1},
                headers=ada,
            )
            assert request.status_code == 201, request.text
            requests.append(request.json()["id"])
        programmes = await _walk(client, "/programmes/?limit=2", ada)
        listed = await _walk(client, "/programmes/LP-1/requests?limit=2", ada)
        first = (await client.get("/programmes/?limit=1", headers=ada)).json()["next"]
        refused = [
            await client.get(path, params={"cursor": cursor}, headers=ada)
            for path, cursor in (
                ("/programmes/", "LP-1"),  # the bare code of before
                ("/programmes/LP-1/requests", requests[0]),  # the bare uuid of before
                ("/programmes/LP-1/requests", first),  # another listing's
            )
        ]
    assert [p["code"] for p in programmes] == sorted(codes)
    assert [r["id"] for r in listed] == sorted(requests)
    for response in refused:
        problem(response, 400, "bad-cursor")
