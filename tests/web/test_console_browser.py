"""The console in a real browser (Debian's chromium driven by playwright, no browser download): a person
signs in through the auth page, sees the home page, the programmes with their progress, a programme's
targets, pages through them and filters them; the same sign-in with production settings (Secure,
``__Host-`` cookies). A screenshot of each page is kept in the test's tmp_path."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from spicadb_web.services.console import last_night
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

pytestmark = pytest.mark.skipif(
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


async def _sign_in(console: Console, browser: Any, path: str) -> tuple[Any, Any]:
    """A new browser context at ``path``: sent to the auth page, signed in, back at ``path``."""
    context = await browser.new_context()
    context.set_default_timeout(90_000)  # two cores shared by many: slow, never stuck
    page = await context.new_page()
    await page.goto(console.url + path)
    username, password = console.admin()
    await page.get_by_label("User name").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(console.url + path)
    return context, page


async def _rows(page: Any) -> list[str]:
    return [text.strip() for text in await page.locator("table.data tbody th[scope=row]").all_inner_texts()]


async def test_a_person_signs_in_and_browses_a_programmes_targets(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    context, page = await _sign_in(console, browser, "/")
    try:
        await page.screenshot(path=tmp_path / "home.png", full_page=True)
        assert await page.get_by_role("heading", level=1).inner_text() == "Welcome, admin"
        assert await page.get_by_role("link", name="LP-1").count() >= 1

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Programmes").click()
        await page.wait_for_url(console.url + "/console/programmes")
        await page.screenshot(path=tmp_path / "programmes.png", full_page=True)
        assert await page.get_by_role("progressbar", name="Progress of LP-1").count() == 1

        await page.get_by_role("link", name="LP-1").click()
        await page.wait_for_url(console.url + "/console/programmes/LP-1")
        await page.screenshot(path=tmp_path / "programme.png", full_page=True)
        first = await _rows(page)
        assert len(first) == 50
        assert first[:3] == ["HD 1000", "HD 1001", "HD 1002"]  # by name

        # keyset pages: the API's cursor behind "Next page", until the last page
        await page.get_by_role("link", name="Next page").click()
        await page.wait_for_url("**cursor=**")
        second = await _rows(page)
        await page.screenshot(path=tmp_path / "programme-page-2.png", full_page=True)
        await page.get_by_role("link", name="Next page").click()
        await page.wait_for_function("document.querySelectorAll('table.data tbody th').length === 20")
        third = await _rows(page)
        assert await page.get_by_role("link", name="Next page").count() == 0
        assert sorted(first + second + third) == sorted(f"HD {1000 + k}" for k in range(120))

        # the filter form, by keyboard-reachable labels; sorting by a column header
        await page.get_by_label("Work package", exact=True).select_option("WP1")
        await page.get_by_label("Sort by", exact=True).select_option("ra")
        await page.get_by_role("button", name="Apply").click()
        await page.wait_for_url("**work_package=WP1**")
        filtered = await _rows(page)
        assert filtered[:2] == ["HD 1001", "HD 1003"]
        assert len(filtered) == 50
        await page.get_by_role("link", name="RA (deg)").click()  # the same column again: descending
        await page.wait_for_url("**order=desc**")
        assert (await _rows(page))[0] == "HD 1119"
        await page.screenshot(path=tmp_path / "programme-filtered.png", full_page=True)
        export = page.get_by_role("link", name="Aspro2 VOTable")
        assert "work_package=WP1" in (await export.get_attribute("href") or "")

        await page.get_by_role("navigation", name="Main").get_by_role("link", name="Nights").click()
        await page.wait_for_url(console.url + "/console/nights")
        await page.screenshot(path=tmp_path / "nights.png", full_page=True)
        night = last_night().isoformat()
        await page.get_by_role("link", name=night).click()
        await page.wait_for_url(f"{console.url}/console/nights/CHARA/{night}")
        await page.screenshot(path=tmp_path / "night.png", full_page=True)
        assert await _rows(page) == ["HD 1000", "HD 1001", "HD 9999"]
        assert await page.locator("table.data tbody tr").nth(1).locator(".level").inner_text() == "bad"
    finally:
        await context.close()
    shots = ("home", "programmes", "programme", "programme-page-2", "programme-filtered", "nights", "night")
    assert all((tmp_path / f"{shot}.png").stat().st_size > 0 for shot in shots)


async def test_the_same_sign_in_works_with_production_settings(
    production_console: Console, browser: Any, tmp_path: Path
) -> None:
    context, page = await _sign_in(production_console, browser, "/console/programmes/LP-1")
    try:
        await page.screenshot(path=tmp_path / "production-programme.png", full_page=True)
        rows = await _rows(page)
        cookies = {c["name"]: c for c in await context.cookies(production_console.url)}
    finally:
        await context.close()
    assert len(rows) == 50
    session = cookies["__Host-spicadb_gateway"]
    assert session["secure"]
    assert session["httpOnly"]
    assert session["path"] == "/"


async def test_the_pages_work_by_keyboard_and_fit_a_phone(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    context, page = await _sign_in(console, browser, "/console/programmes")
    try:
        # the first Tab reaches the skip link, which moves the focus to the main content
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.textContent") == "Skip to content"
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "main"
        # a link is followed from the keyboard
        await page.get_by_role("link", name="LP-1").focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(console.url + "/console/programmes/LP-1")
        # on a phone, the page does not scroll sideways (wide tables scroll in their own region)
        await page.set_viewport_size({"width": 390, "height": 844})
        for name in ("", "programmes", "programmes/LP-1", "nights"):
            await page.goto(f"{console.url}/{'console/' if name else ''}{name}")
            overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, (name, overflow)
            shot = "phone-" + (name.replace("/", "-") or "home") + ".png"
            await page.screenshot(path=tmp_path / shot, full_page=True)
    finally:
        await context.close()
