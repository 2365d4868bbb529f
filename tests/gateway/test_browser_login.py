"""The browser login through the gateway, in a real browser (Debian's chromium driven by playwright), with
production settings: Secure and prefixed cookies, which browsers check and httpx does not (a
``__Host-`` cookie with a path other than / is dropped by the browser, and every callback failed).

Chromium keeps Secure cookies on http://127.0.0.1 (a loopback origin counts as secure)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from gateway_platform import Platform, open_platform
from gateway_stack import Stack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is missing (apt-get install chromium; `make test` does it as root)",
)


@pytest.fixture(scope="module")
async def production(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with open_platform(
        stack,
        tmp_path_factory.mktemp("auth-data"),
        environment="production",  # the stack's settings carry the session key production requires
    ) as platform:
        yield platform


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


async def test_a_person_signs_in_through_the_gateway_in_production(
    production: Platform, browser: Any
) -> None:
    admin = production.credentials()["users"]["admin"]
    context = await browser.new_context()
    try:
        context.set_default_timeout(90_000)  # two cores shared by many: slow, never stuck
        page = await context.new_page()
        await page.goto(production.url + "/auth/login?next=/auth")
        await page.fill("#username", admin["username"])
        await page.fill("#password", admin["password"])
        assert await page.is_visible("#username"), (page.url, await page.content())
        seen: list[str] = []
        page.on("response", lambda r: seen.append(f"{r.status} {r.url}"))
        try:
            async with page.expect_response(lambda r: "/auth/callback" in r.url) as answer:
                await page.click("button[type=submit]")
        except Exception as exc:
            raise AssertionError((seen, page.url, await page.content())) from exc
        callback = await answer.value
        assert callback.status == 302, await callback.text()  # was 400: the browser dropped its cookie
        await page.wait_for_url(production.url + "/auth")
        text = await page.inner_text("body")
        cookies = {c["name"]: c for c in await context.cookies(production.url)}
        # the session works for the API too, in the same browser
        whoami = await (await page.goto(production.url + "/auth/whoami")).json()
    finally:
        await context.close()
    assert "Signed in as admin" in text, text
    session = cookies["__Host-spicadb_gateway"]
    assert session["secure"]
    assert session["httpOnly"]
    assert session["path"] == "/"
    assert whoami["subject"] == "admin"
    assert whoami["via"] == "session"
