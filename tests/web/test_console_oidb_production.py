"""The console's OiDB view with production settings (Secure ``__Host-`` session cookies through the
gateway): the search, its thumbnails and a granule's plots load in Chromium. A module of its own: one
platform at a time on the session's NATS server (two would share their durable consumers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console
from web_oidb import Seeded, loaded, push_granules

STRANGER = "bob"


@pytest.fixture(scope="module")
async def production_seeded(production_console: Console) -> Seeded:
    return await push_granules(production_console)


@needs_chromium
async def test_the_oidb_search_works_with_production_settings(
    production_console: Console, production_seeded: Seeded, browser: Any, tmp_path: Path
) -> None:
    """Secure ``__Host-`` session cookies: the page, its thumbnails and the plots through the gateway."""
    console = production_console
    context, page = await sign_in_at(console, browser, "/console/oidb?target=Deneb", (STRANGER, PASSWORD))
    try:
        assert await page.locator("table.granules tbody th[scope=row] a").all_inner_texts() == ["Deneb"]
        assert all(width > 0 for width in await loaded(page, "img.thumb"))
        await page.locator("table.granules tbody th[scope=row] a").first.click()
        await page.wait_for_url(console.url + f"/console/oidb/granules/{production_seeded.id('Deneb')}")
        assert all(width > 0 for width in await loaded(page, "figure.plot img"))
        await page.screenshot(path=tmp_path / "production-oidb-granule.png", full_page=True)
    finally:
        await context.close()
