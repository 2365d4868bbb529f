"""The night's observer flags an observation from the console: the flag form (level, reasons, comment)
beside the observation's flag history, sent by the console's own script with the session's X-CSRF-Token
(a form arriving without it is refused plainly, nothing saved), the API's refusals shown by their title and
wrong fields, the form not offered to a reader who may not flag; and the flag reaches the L0 view
(obsportal's exposure row) once the event has flowed."""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import eventually
from spicadb_nightlogs.domain import LEVELS, REASONS
from spicadb_web.services.console import FLAG_LEVELS, FLAG_REASONS, last_night
from spicadb_web.services.uvplot import uv_plot
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console

OBSERVER = "olga"  # an operator (nightlogs:flag), the observer of LP-1
READER = "bob"  # an astronomer (no nightlogs:flag), a viewer of LP-1


@dataclass
class Night:
    path: str  # the night's page
    observations: dict[str, str]  # target name -> observation id
    admin: str  # the admin's token

    def of(self, target: str) -> str:
        return f"{self.path}?observation={self.observations[target]}"

    def action(self, target: str) -> str:
        return f"{self.path}/observations/{self.observations[target]}/flags"


@pytest.fixture(scope="module")
async def night(console: Console) -> Night:
    return await observer_night(console)


@pytest.fixture(scope="module")
async def production_night(production_console: Console) -> Night:
    return await observer_night(production_console)


async def observer_night(console: Console) -> Night:
    """olga (operator) the observer of LP-1, bob (astronomer) a viewer of it; last night's observations
    once the membership has reached nightlogs."""
    admin = await console.token(*console.admin(), scope="openid admin")
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + admin}
    ) as api:
        made = await api.post("/admin/users", json={"username": OBSERVER, "password": PASSWORD,
                                                    "roles": ["operator"]})  # fmt: skip
        assert made.status_code == 201, made.text
        for username, role in ((OBSERVER, "observer"), (READER, "viewer")):
            joined = await api.put(
                f"/programmes/LP-1/members/{username}", json={"username": username, "role": role}
            )
            assert joined.status_code in (200, 201), joined.text
    day = last_night().isoformat()
    olga = await console.token(OBSERVER, PASSWORD, scope="openid nightlogs:read nightlogs:flag")

    async def observations() -> dict[str, str] | None:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
            answer = await api.get(
                f"/nightlogs/nights/CHARA/{day}", headers={"Authorization": "Bearer " + olga}
            )
        seen = {o["target_name"]: o["id"] for o in answer.json().get("observations") or []}
        return seen if "HD 1000" in seen else None

    return Night(f"/console/nights/CHARA/{day}", await eventually(observations, timeout=60), admin)


def test_the_console_offers_the_levels_and_reasons_the_api_takes() -> None:
    assert FLAG_LEVELS == LEVELS
    assert FLAG_REASONS == REASONS


def test_the_uv_plot_draws_each_baseline_and_its_mirror_inside_its_square() -> None:
    plot = uv_plot(
        [
            {"stations": "S1-E1", "u_start": 300.0, "v_start": 40.0, "u_end": 310.0, "v_end": 20.0},
            {"stations": "W1-W2", "u_start": -20.0, "v_start": 90.0, "u_end": -25.0, "v_end": 95.0},
        ]
    )
    assert plot is not None
    assert [(t.stations, t.x1, t.y1) for t in plot.tracks] == [
        ("S1-E1", 300.0, -40.0), ("S1-E1", -300.0, 40.0), ("W1-W2", -20.0, -90.0), ("W1-W2", 20.0, 90.0),
    ]  # fmt: skip
    assert plot.radius == 350.0  # past the longest (310.6 m), a multiple of 50 m
    assert plot.view_box == "-350 -350 700 700"
    assert uv_plot([]) is None


def _csrf(browser: httpx.AsyncClient) -> str:
    return next(c.value for c in browser.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))


async def _level(console: Console, night: Night, target: str) -> str:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        answer = await api.get(
            f"/nightlogs/observations/{night.observations[target]}",
            headers={"Authorization": "Bearer " + night.admin},
        )
    return str(answer.json()["level"])


async def test_the_observer_flags_through_the_form_and_sees_the_history(
    console: Console, night: Night
) -> None:
    browser = await console.session(OBSERVER, PASSWORD)
    try:
        page = await browser.get(night.of("HD 1000"))
        assert page.status_code == 200, page.text
        assert 'class="writes flag-form"' in page.text
        assert '<label for="flag-level">Quality level</label>' in page.text
        assert "Not flagged yet." in page.text
        # the observation's conditions, baselines and (u,v) coverage beside the form
        assert '<svg viewBox="' in page.text
        assert "(u,v) coverage: 15 baselines" in page.text
        assert page.text.count('<line class="track"') == 30  # each pair and its mirror
        assert '<script src="/static/console.js" defer></script>' in page.text
        form = {"level": "degraded", "reasons": ["seeing", "wind"], "comment": "gusts"}
        # what the console's script sends: the form with the session's X-CSRF-Token
        sent = await browser.post(
            night.action("HD 1000"), data=form, headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == night.of("HD 1000") + "&saved=true#flag"
        shown = await browser.get(sent.headers["location"])
        text = html.unescape(shown.text)
        assert "Flag saved: degraded." in text
        assert f"<strong>{OBSERVER}</strong>:" in text  # the history names who flagged
        assert "(seeing, wind)" in text
        assert "“gusts”" in text
    finally:
        await browser.aclose()
    assert await _level(console, night, "HD 1000") == "degraded"


async def test_a_form_sent_without_the_csrf_header_saves_nothing_and_says_so(
    console: Console, night: Night
) -> None:
    browser = await console.session(OBSERVER, PASSWORD)
    try:
        before = await _level(console, night, "HD 9999")
        # a browser without the script: the plain form post (the gateway passes no token without the header)
        sent = await browser.post(
            night.action("HD 9999"),
            data={"level": "bad", "comment": "no script"},
            headers={"Referer": console.url + night.of("HD 9999")},
        )
        assert sent.status_code == 403, sent.text
        assert "Nothing was saved" in sent.text
        assert "JavaScript" in html.unescape(sent.text)
        assert "/auth/login?next=" in sent.text  # a way back, to this night's page
        # a forged header (not the session's value) is no better
        forged = await browser.post(
            night.action("HD 9999"), data={"level": "bad"}, headers={"X-CSRF-Token": "forged"}
        )
        assert forged.status_code == 403, forged.text
    finally:
        await browser.aclose()
    assert await _level(console, night, "HD 9999") == before


async def test_a_refused_flag_shows_the_problem_title_and_fields(console: Console, night: Night) -> None:
    browser = await console.session(OBSERVER, PASSWORD)
    try:
        sent = await browser.post(
            night.action("HD 1001"),
            data={"level": "splendid", "comment": "kept"},
            headers={"X-CSRF-Token": _csrf(browser)},
        )
        assert sent.status_code in (400, 422), sent.text
        text = html.unescape(sent.text)
        assert 'role="alert" id="flag-result"' in text
        assert "<code>level</code>" in text  # the wrong field, by the form's name
        assert '<select id="flag-level" name="level" aria-invalid="true"' in text
        assert ">kept</textarea>" in text  # what was typed is kept in the form
    finally:
        await browser.aclose()


async def test_a_reader_who_may_not_flag_is_not_offered_the_form(console: Console, night: Night) -> None:
    browser = await console.session(READER, PASSWORD)
    try:
        page = await browser.get(night.of("HD 1000"))
    finally:
        await browser.aclose()
    assert page.status_code == 200, page.text
    assert "Flag history" in page.text
    assert "flag-form" not in page.text
    assert "Quality level" not in page.text


@needs_chromium
async def test_an_observer_flags_in_a_browser_and_the_l0_view_shows_it(
    console: Console, night: Night, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, night.of("HD 1001"), (OBSERVER, PASSWORD))
    try:
        await page.get_by_label("Quality level").select_option("bad")
        await page.get_by_label("clouds").check()
        await page.get_by_label("Comment").fill("cirrus from 04:00")
        await page.get_by_role("button", name="Save the flag").click()
        await page.get_by_role("status").filter(has_text="Flag saved: bad.").wait_for()
        await page.screenshot(path=tmp_path / "flagged.png", full_page=True)
        history = page.locator("ol.history li").first
        assert "cirrus from 04:00" in await history.inner_text()
        assert await page.evaluate("document.activeElement.id") == "flag-result"
        # the API refuses a bad value: its title and field shown beside the form, what was typed kept
        await page.evaluate("document.getElementById('flag-comment').removeAttribute('maxlength')")
        await page.get_by_label("Comment").fill("x" * 4001)
        await page.get_by_role("button", name="Save the flag").click()
        await page.get_by_role("alert").wait_for()
        await page.screenshot(path=tmp_path / "flag-refused.png", full_page=True)
        assert "comment" in await page.get_by_role("alert").inner_text()
        assert await page.get_by_label("Comment").get_attribute("aria-invalid") == "true"
        # on a phone the page with the plot, the baselines and the form does not scroll sideways
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(console.url + night.of("HD 1001"))
        assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        await page.screenshot(path=tmp_path / "phone-observation.png", full_page=True)
    finally:
        await context.close()

    async def l0_level() -> list[tuple[str, int]] | None:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
            answer = await api.get(
                "/obsportal/exposures",
                params={"target": "HD 1001", "night_from": night.path[-10:], "night_to": night.path[-10:]},
                headers={"Authorization": "Bearer " + night.admin},
            )
        rows = answer.json().get("items") or []
        seen = [(row["validation"]["level"], row["validation"]["exp_validation_level"]) for row in rows]
        return seen if seen == [("bad", 4)] else None  # 4: ObsPortal's validation level of "bad"

    assert await eventually(l0_level, timeout=60) == [("bad", 4)]


@needs_chromium
async def test_the_flag_form_works_with_production_settings(
    production_console: Console, production_night: Night, browser: Any
) -> None:
    """Secure cookies (the session's ``__Host-``): the script still reads the CSRF cookie and sends it."""
    path = production_night.of("HD 1000")
    context, page = await sign_in_at(production_console, browser, path, (OBSERVER, PASSWORD))
    try:
        await page.get_by_label("Quality level").select_option("usable")
        await page.get_by_role("button", name="Save the flag").click()
        await page.get_by_role("status").filter(has_text="Flag saved: usable.").wait_for()
    finally:
        await context.close()
    assert await _level(production_console, production_night, "HD 1000") == "usable"


@needs_chromium
async def test_without_javascript_the_form_says_nothing_was_saved(
    console: Console, night: Night, browser: Any, tmp_path: Path
) -> None:
    before = await _level(console, night, "HD 9999")
    context = await browser.new_context(java_script_enabled=False)
    context.set_default_timeout(90_000)
    try:
        page = await context.new_page()
        await page.goto(console.url + night.of("HD 9999"))
        await page.get_by_label("User name").fill(OBSERVER)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(console.url + night.of("HD 9999"))
        # said before sending (playwright's text locators skip <noscript>: the rendered text instead)
        assert "This form needs JavaScript" in await page.locator("main").inner_text()
        await page.get_by_label("Quality level").select_option("bad")
        async with page.expect_navigation():
            await page.get_by_role("button", name="Save the flag").click()
        await page.screenshot(path=tmp_path / "no-script.png", full_page=True)
        assert await page.get_by_role("heading", level=1).inner_text() == "Nothing was saved"
        assert await page.get_by_role("link", name="Sign in again").count() == 1
    finally:
        await context.close()
    assert await _level(console, night, "HD 9999") == before
