"""The programmes listing gives each programme's progress when asked (``with_progress``): the same
totals as ``GET /programmes/{code}/progress``, read for the whole page at once, so that a console's
progress bars need no call per programme."""

from __future__ import annotations

from programmes_support import ProgrammesService, create_programme, stars

SIX = ["E1", "W2", "W1", "S2", "S1", "E2"]


async def test_the_listing_gives_each_programmes_progress_when_asked(service: ProgrammesService) -> None:
    ada = service.auth("ada")
    async with service.running() as client:
        for code in ("LP-1", "LP-2"):
            await create_programme(client, service, code)
        setup = await client.post(
            "/programmes/LP-1/setups", json={"name": "lr6", "mode": "LR", "configuration": SIX}, headers=ada
        )
        assert setup.status_code == 201, setup.text
        for target, visits in zip(stars(2), (2, 3), strict=True):
            created = await client.post("/programmes/LP-1/targets/", json=target, headers=ada)
            assert created.status_code == 201, created.text
            request = await client.post("/programmes/LP-1/requests", headers=ada,
                                        json={"target_id": created.json()["id"], "setup": "lr6", "visits": visits})  # fmt: skip
            assert request.status_code == 201, request.text
        plain = await client.get("/programmes", headers=ada)
        listed = await client.get("/programmes", params={"with_progress": "true"}, headers=ada)
        totals = {code: (await client.get(f"/programmes/{code}/progress", headers=ada)).json()["progress"]
                  for code in ("LP-1", "LP-2")}  # fmt: skip
    assert [p["progress"] for p in plain.json()["items"]] == [None, None]
    progress = {p["code"]: p["progress"] for p in listed.json()["items"]}
    assert progress == totals
    assert progress["LP-1"] == {
        "requested": 5,
        "planned": 0,
        "observed": 0,
        "good": 0,
        "state": "not-observed",
    }
    assert progress["LP-2"]["requested"] == 0
