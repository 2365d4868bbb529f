"""The JSON listing: keyset pages, and the filters (target name, cone, night, programme, mode,
calibration level, quality level, last change); bad parameters are problems, nothing else."""

from __future__ import annotations

from datetime import datetime, timedelta

from harness import eventually
from oidb_support import DENEB, VEGA, OidbService, ago, granule, indexed, listing, push


async def targets(client, service: OidbService, **params) -> list[str]:  # type: ignore[no-untyped-def]
    return [i["target_name"] for i in await listing(client, service.auth("ada"), **params)]


async def test_filters(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada")
    await service.programme("LP-2", pi="ada")
    night = ago(days=3)
    await push(service, indexed(
        granule("Vega", VEGA, end=night),
        granule("HD 1234", (VEGA[0] + 0.3, VEGA[1]), end=night, mode="LR", calib_level=3, quality=4),
        granule("Deneb", DENEB, programme="LP-2"),
        granule("Nowhere", None, programme="LP-2"),
    ))  # fmt: skip
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        assert await targets(client, service) == ["Vega", "HD 1234", "Deneb", "Nowhere"]
        # a name, case and blanks aside
        assert await targets(client, service, target="hd1234") == ["HD 1234"]
        assert await targets(client, service, target=" VEGA ") == ["Vega"]
        assert await targets(client, service, target="Veg") == []
        # a cone (degrees): 0.1 deg around Vega, then 0.5 deg
        cone = {"ra": VEGA[0], "dec": VEGA[1]}
        assert await targets(client, service, **cone, radius=0.1) == ["Vega"]
        assert await targets(client, service, **cone, radius=0.5) == ["Vega", "HD 1234"]
        assert await targets(client, service, ra=DENEB[0], dec=DENEB[1], radius=0.01) == ["Deneb"]
        assert await targets(client, service, night=(night - timedelta(hours=20)).date().isoformat()) == [
            "Vega", "HD 1234",
        ]  # fmt: skip
        assert await targets(client, service, programme="LP-2") == ["Deneb", "Nowhere"]
        assert await targets(client, service, instrument_mode="LR") == ["HD 1234"]
        assert await targets(client, service, calib_level=3) == ["HD 1234"]
        assert await targets(client, service, programme="LP-2", instrument_mode="LR") == []
        # the effective quality level (no flag here: the DRS's level, absent: 0 unknown)
        assert await targets(client, service, quality_level=4) == ["HD 1234"]
        assert await targets(client, service, quality_level=0) == ["Vega", "Deneb", "Nowhere"]


async def test_harvesting_by_last_change(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada")
    await push(service, indexed(granule("Vega")))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        [first] = await listing(client, service.auth("ada"))
        since = datetime.fromisoformat(first["updated_at"]) + timedelta(microseconds=1)
        assert await targets(client, service, updated_since=since.isoformat()) == []
        await push(service, indexed(granule("Deneb", DENEB)))
        await eventually(service.drained, timeout=10)
        assert await targets(client, service, updated_since=since.isoformat()) == ["Deneb"]


async def test_keyset_pages(service: OidbService) -> None:
    await service.programme("LP-1", pi="ada")
    names = [f"Star {n}" for n in range(7)]
    await push(service, indexed(*(granule(name) for name in names)))
    async with service.running() as client:
        await eventually(service.drained, timeout=10)
        seen: list[str] = []
        cursor = None
        pages = 0
        while True:
            params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/oidb/granules", params=params, headers=service.auth("ada"))).json()
            seen += [i["target_name"] for i in page["items"]]
            pages += 1
            cursor = page["next"]
            if cursor is None:
                break
        assert (seen, pages) == (names, 3)


async def test_bad_parameters_are_problems(service: OidbService) -> None:
    async with service.running() as client:
        for params, status in (
            ({"ra": 10, "dec": 20}, 400),  # a cone without its radius
            ({"ra": 10, "dec": 20, "radius": 45}, 400),  # above the largest cone
            ({"ra": 400, "dec": 20, "radius": 1}, 400),
            ({"dec": 95, "ra": 1, "radius": 1}, 400),
            ({"calib_level": 7}, 400),
            ({"quality_level": 6}, 400),
            ({"night": "yesterday"}, 400),
            ({"cursor": "abc"}, 400),  # a bad cursor (bad-cursor)
            ({"limit": 0}, 400),
        ):
            response = await client.get("/oidb/granules", params=params)
            assert response.status_code == status, (params, response.text)
            assert response.headers["content-type"].startswith("application/problem+json"), params


async def test_head_answers_like_get(service: OidbService) -> None:
    await service.programme("LP-1", months=0)
    await push(service, indexed(granule("Vega", end=ago(days=1))))
    async with service.running() as client:
        await eventually(lambda: listing(client), timeout=10)
        for path in ("/oidb/granules", "/oidb/links?ID=x"):
            head = await client.head(path)
            get = await client.get(path)
            assert head.status_code == get.status_code == 200, path
            assert head.headers["content-type"] == get.headers["content-type"], path
