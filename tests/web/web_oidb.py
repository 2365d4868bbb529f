"""The OiDB view's test data, for test_console_oidb*.py: OIFITS files pushed through the gateway and the
granules oidb keeps of them; and waiting for a page's images to load in a browser."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from harness import eventually
from oifits_support import OLD, RECENT, oifits
from synthetic import mjd
from web_console import Console

VEGA = (279.2347, 38.7837)
DENEB = (310.358, 45.2803)
ALTAIR = (297.6958, 8.8683)


@dataclass
class Seeded:
    granules: dict[str, dict[str, Any]]  # target name -> the granule as the admin sees it
    admin: str  # the admin's token

    def id(self, target: str) -> str:
        return str(self.granules[target]["granule_id"])


async def push_granules(console: Console) -> Seeded:
    """Four files pushed by the admin through the gateway: Vega, HR 7001 an arcsecond from it (another
    name, another night) and Deneb, observed in 2019 for LP-1 (released); Altair, last season for LP-2
    (proprietary: bob is in neither programme). Waits until oidb has them from oifits' events."""
    admin = await console.token(*console.admin(), scope="openid admin oifits:push oifits:read")
    headers = {"Authorization": "Bearer " + admin}
    files = (
        ("vega.fits", oifits(target="Vega", ra=VEGA[0], dec=VEGA[1], at=(OLD,), extra={"QUALITY LEVEL": 4}), {}),
        ("hr7001.fits", oifits(target="HR 7001", ra=VEGA[0], dec=VEGA[1] + 1 / 3600,
                               at=(mjd("2019-06-20T06:00"),)), {}),
        ("deneb.fits", oifits(target="Deneb", ra=DENEB[0], dec=DENEB[1], at=(OLD,)), {"calib_level": 3}),
        ("altair.fits", oifits(target="Altair", ra=ALTAIR[0], dec=ALTAIR[1], at=(RECENT,), programme="LP-2"), {}),
    )  # fmt: skip
    async with httpx.AsyncClient(base_url=console.url, timeout=120, headers=headers) as api:
        for filename, data, params in files:
            pushed = await api.post("/oifits/files", params={"filename": filename, **params}, content=data,
                                    headers={"Content-Type": "application/fits"})  # fmt: skip
            assert pushed.status_code == 201, pushed.text

        async def listed() -> dict[str, dict[str, Any]] | None:
            items = (await api.get("/oidb/granules")).json()["items"]
            return {g["target_name"]: g for g in items} if len(items) == 4 else None

        granules = await eventually(listed, timeout=90, interval=0.5)

    async def released() -> bool:  # the programmes' rights have reached oidb too
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as anonymous:
            return len((await anonymous.get("/oidb/granules")).json()["items"]) == 3

    await eventually(released, timeout=60, interval=0.5)
    return Seeded(granules, admin)


async def loaded(page: Any, selector: str) -> list[int]:
    """naturalWidth of each image the selector finds, once each has loaded (scrolled into view: lazy)."""
    images = page.locator(selector)
    widths = []
    for n in range(await images.count()):
        image = images.nth(n)
        await image.scroll_into_view_if_needed()
        await page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=await image.element_handle()
        )
        widths.append(int(await image.evaluate("(img) => img.naturalWidth")))
    return widths
