"""Debian's chromium driven by playwright (no browser download), for the console's browser tests: the
``browser`` fixture (registered by conftest.py) and signing a new browser context in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from web_console import Console

CHROMIUM = Path("/usr/bin/chromium")
# as tests/gateway/test_browser_login.py launches it
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it as root)",
)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    playwright_api = pytest.importorskip("playwright.async_api")
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True
        )
        try:
            yield chromium
        finally:
            await chromium.close()


async def sign_in_at(
    console: Console, browser: Any, path: str, credentials: tuple[str, str] | None = None
) -> tuple[Any, Any]:
    """A new browser context at ``path``: sent to the auth page, signed in (the admin unless
    ``credentials``), back at ``path``."""
    context = await browser.new_context()
    context.set_default_timeout(90_000)  # two cores shared by many: slow, never stuck
    page = await context.new_page()
    await page.goto(console.url + path)
    username, password = credentials or console.admin()
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console.url + path)
    return context, page
