"""The console's home and nights against the real platform: tonight's plan (scheduled through the
nightlogs API), the last night's log, the latest pushes and rejections (a synthetic OIFITS file pushed to
oifits, and a broken one refused) for a visitor with oifits:read only; the nights' calendar (a month's
days, links with counts and levels, the months around it, a malformed month a 400 page); a night's plan
against observed on a time line drawn on the server, each observation a link. Then the same pages in
Chromium, with screenshots."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import eventually
from nightlogs_support import csv_log, line
from oifits_support import OLD, oifits
from spicadb_web.services.calendar import Month, month_grid, parse_month
from spicadb_web.services.console import last_night, tonight
from spicadb_web.services.timeline import timeline
from synthetic import truncate
from web_browser import needs_chromium, sign_in_at
from web_console import Console

NIGHT = date(2026, 11, 10)  # a night with a plan and a log: its time line
CONFIGURATION = ["S1", "S2", "E1", "E2", "W1", "W2"]


@dataclass
class Seeded:
    tonight: date
    observations: dict[str, str]  # NIGHT's target name -> observation id
    pushed: str  # the file pushed
    rejected: str  # the rejection of the broken file


def _at(night: date, hour: float) -> str:
    """``hour`` hours after 00:00 UT of the morning after ``night`` (CHARA's evening is ~02:00 UT)."""
    moment = datetime(night.year, night.month, night.day, tzinfo=UTC) + timedelta(days=1, hours=hour)
    return moment.isoformat()


def _slot(target: str, night: date, start: float, end: float) -> dict[str, Any]:
    return {"target": target, "programme": "LP-1", "mode": "LR", "configuration": CONFIGURATION,
            "start": _at(night, start), "end": _at(night, end)}  # fmt: skip


@pytest.fixture(scope="module")
async def seeded(console: Console) -> Seeded:
    """Tonight's plan; NIGHT's plan (three slots) and log (two of them observed, one flagged bad); a
    file pushed and a broken one refused."""
    admin = await console.token(*console.admin(), scope="openid admin")
    evening = tonight()
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + admin}
    ) as api:
        plans = {
            evening: [_slot("HD 1020", evening, 3.0, 4.5), _slot("HD 1021", evening, 4.5, 6.0)],
            NIGHT: [_slot("HD 1010", NIGHT, 3.0, 4.0), _slot("HD 1011", NIGHT, 4.0, 5.0),
                    _slot("HD 1012", NIGHT, 5.0, 6.0)],
        }  # fmt: skip
        for night, slots in plans.items():
            planned = await api.post(
                f"/nightlogs/schedules/CHARA/{night.isoformat()}", json={"observations": slots}
            )
            assert planned.status_code == 201, planned.text
        log = csv_log(line("HD 1010", 3.25, night=NIGHT), line("HD 1011", 4.1, night=NIGHT))
        logged = await api.post(
            f"/nightlogs/logs/CHARA/{NIGHT.isoformat()}", content=log, headers={"Content-Type": "text/csv"}
        )
        assert logged.status_code == 201, logged.text
        night = (await api.get(f"/nightlogs/nights/CHARA/{NIGHT.isoformat()}")).json()
        observations = {o["target_name"]: o["id"] for o in night["observations"]}
        flagged = await api.post(
            f"/nightlogs/observations/{observations['HD 1011']}/flags", json={"level": "bad"}
        )
        assert flagged.status_code == 201, flagged.text
        data = oifits(target="HD 1010", at=(OLD,), programme=None)
        pushed = await api.post("/oifits/files", params={"filename": "spica-hd1010.fits"}, content=data,
                                headers={"Content-Type": "application/fits"})  # fmt: skip
        assert pushed.status_code == 201, pushed.text
        broken = await api.post("/oifits/files", params={"filename": "broken.fits"},
                                content=truncate(data, len(data) - 2880),
                                headers={"Content-Type": "application/fits"})  # fmt: skip
        assert 400 <= broken.status_code < 500, broken.text
        rejections = (await api.get("/oifits/rejections")).json()["items"]
    rejected = next(r["id"] for r in rejections if r["filename"] == "broken.fits")
    return Seeded(evening, observations, pushed.json()["id"], rejected)


async def _get(console: Console, path: str, user: tuple[str, str] | None = None) -> httpx.Response:
    browser = await console.session(*(user or console.admin()))
    try:
        return await browser.get(path, headers={"Accept": "text/html"})
    finally:
        await browser.aclose()


async def _home_with_pushes(console: Console) -> str:
    """The home page once the admin (PI of LP-1) sees NIGHT's observations (rights flow as events)."""

    async def ready() -> str | None:
        page = await _get(console, "/")
        return page.text if page.status_code == 200 and "spica-hd1010.fits" in page.text else None

    return await eventually(ready, timeout=60)


# --- the drawings, without the platform --------------------------------------------------------------


def test_overlapping_observations_take_lanes_on_an_axis_of_whole_ut_hours() -> None:
    runs = [
        {"id": "a", "target_name": "HD 1", "level": "good",
         "start": "2026-11-10T20:10:00-07:00", "end": "2026-11-10T20:40:00-07:00"},  # 03:10-03:40 UT
        {"id": "b", "target_name": "HD 2", "level": "bad",
         "start": "2026-11-11T03:20:00+00:00", "end": "2026-11-11T03:50:00+00:00"},
        {"id": "c", "target_name": "HD 3", "level": "good",
         "start": "2026-11-11T03:45:00+00:00", "end": "2026-11-11T04:30:00+00:00"},
    ]  # fmt: skip
    plan = [
        {
            "sequence": 1,
            "target": "HD 1",
            "start": "2026-11-11T03:00:00+00:00",
            "end": "2026-11-11T04:00:00+00:00",
        }
    ]
    drawn = timeline({"observations": runs}, plan)
    assert drawn is not None
    assert [t.label for t in drawn.ticks] == ["03h", "04h", "05h"]
    bars = drawn.observed.bars
    assert [(b.ref, b.start, b.end) for b in bars] == [("a", "03:10", "03:40"), ("b", "03:20", "03:50"),
                                                       ("c", "03:45", "04:30")]  # fmt: skip
    assert [b.y for b in bars] == [bars[0].y, bars[0].y + 26, bars[0].y]  # b overlaps a: a lane of its own
    assert drawn.observed.height == 52
    assert drawn.observed.y > drawn.plan.y + drawn.plan.height  # the bands do not overlap
    assert min(b.x for b in bars) >= 96  # inside the axis
    assert max(b.x + b.width for b in bars) <= 944
    assert timeline({"observations": []}, []) is None
    # a withdrawn observation is drawn faint, without a label on it
    gone = timeline(
        {"observations": [{**runs[2], "id": "d", "target_name": "HD 3 long enough", "withdrawn": True}]}, []
    )
    assert gone is not None
    assert [(b.withdrawn, b.labelled) for b in gone.observed.bars] == [(True, False)]


def test_a_month_grid_starts_on_monday_and_stops_at_the_calendars_bounds() -> None:
    grid = month_grid(Month(2026, 2), [{"night": "2026-02-03", "observations": 0}], [], date(2026, 2, 3))
    first = grid.weeks[0]
    assert [d.day.day if d else None for d in first] == [None, None, None, None, None, None, 1]
    assert [d.day.isoformat() for d in grid.nights] == ["2026-02-03"]
    assert grid.nights[0].today
    assert grid.nights[0].label == "3 February 2026, 0 observation(s)"
    assert Month(2100, 12).shifted(1) is None
    assert Month(2000, 1).shifted(-1) is None
    assert Month(2026, 12).shifted(1) == Month(2027, 1)
    assert parse_month(" 2026-02 ") == Month(2026, 2)


# --- home ----------------------------------------------------------------------------------------------


async def test_home_shows_tonights_plan_the_last_night_and_the_latest_pushes(
    console: Console, seeded: Seeded
) -> None:
    text = html.unescape(await _home_with_pushes(console))
    assert f"Tonight ({seeded.tonight.isoformat()})" in text
    assert "2 slot(s), UT." in text
    plan = re.findall(r'<span class="window">(\d\d:\d\d)\u2013(\d\d:\d\d)</span> (HD \d+)', text)
    assert plan == [("03:00", "04:30", "HD 1020"), ("04:30", "06:00", "HD 1021")]
    assert f'href="/console/nights/CHARA/{seeded.tonight.isoformat()}">Tonight\'s time line' in text
    # the last night's log with its flags, as before
    assert f"Last night ({last_night().isoformat()})" in text
    assert '<span class="level level-bad">bad</span> 1' in text
    # the latest pushes and rejections, each a link to its page in the files area
    assert f'<a href="/console/files/{seeded.pushed}">spica-hd1010.fits</a>' in text
    assert f'<a href="/console/files/rejections/{seeded.rejected}">broken.fits</a>' in text
    assert "Latest pushes" in text
    assert "Latest rejections" in text
    # tonight's page: its plan on the time line, nothing observed yet
    night = html.unescape((await _get(console, f"/console/nights/CHARA/{seeded.tonight.isoformat()}")).text)
    assert "The plan's 2 slot(s) in the upper band, the 0 observation(s) below it" in night
    assert night.count('<rect class="slot-bar"') == 2
    assert 'class="run"' not in night


async def test_a_visitor_without_oifits_read_sees_no_pushes(console: Console, seeded: Seeded) -> None:
    page = await _get(console, "/", ("nora", "correct horse battery staple 42"))
    assert page.status_code == 200, page.text
    assert "Latest pushes" not in page.text
    assert "/console/files/" not in page.text
    assert "Tonight (" not in page.text  # no nightlogs:read either


# --- the calendar ----------------------------------------------------------------------------------


async def test_the_calendar_shows_a_month_with_its_nights_and_moves_between_months(
    console: Console, seeded: Seeded
) -> None:
    page = await _get(console, "/console/nights?month=2026-11")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert '<caption id="calendar-caption">November 2026: nights named by the date they start' in text
    assert re.findall(r'<th scope="col"><abbr title="(\w+)">', text)[:2] == ["Monday", "Tuesday"]
    day = re.search(r'<a class="day" href="/console/nights/CHARA/2026-11-10" aria-label="([^"]+)"', text)
    assert day is not None, text
    assert day[1] == "10 November 2026, 2 observation(s), 1 bad, 1 unknown, planned"
    assert re.findall(r'<a class="day" href="([^"]+)"', text) == ["/console/nights/CHARA/2026-11-10"]
    assert '<a rel="prev" href="/console/nights?month=2026-10">' in text
    assert '<a rel="next" href="/console/nights?month=2026-12">' in text
    # the month's nights as a list too
    assert '<th scope="row"><a href="/console/nights/CHARA/2026-11-10">2026-11-10</a></th>' in text
    assert "style=" not in text
    before = await _get(console, "/console/nights?month=2026-10")
    assert "No night with a plan or a log in October 2026." in before.text
    # by default the last night's month, with the last night and tonight's plan
    default = html.unescape((await _get(console, "/console/nights")).text)
    assert f'href="/console/nights/CHARA/{last_night().isoformat()}"' in default
    if seeded.tonight.month == last_night().month:
        assert f'href="/console/nights/CHARA/{seeded.tonight.isoformat()}" aria-label=' in default
        assert 'aria-current="date"' in default


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "nope", "1850-01", "2026-1", "2026-11-01"])
async def test_a_malformed_month_is_a_400_page(console: Console, month: str) -> None:
    page = await _get(console, "/console/nights?month=" + month)
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "Bad month" in page.text
    assert "YYYY-MM" in page.text


async def test_a_month_too_long_is_refused(console: Console) -> None:
    page = await _get(console, "/console/nights?month=" + "2026-11" * 10)
    assert page.status_code == 400, page.text


# --- the time line --------------------------------------------------------------------------------


async def test_the_night_draws_its_plan_against_what_was_observed(console: Console, seeded: Seeded) -> None:
    page = await _get(console, f"/console/nights/CHARA/{NIGHT.isoformat()}")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    assert '<svg class="timeline-plot"' in text
    assert '<title id="timeline-svg-title">Night 2026-11-10: plan against observed, UT</title>' in text
    assert "The plan's 3 slot(s) in the upper band, the 2 observation(s) below it" in text
    assert "style=" not in text  # the CSP forbids style attributes: classes only
    # the hours on the axis, from the first slot's hour to past the last
    assert re.findall(r'<text class="hour-label"[^>]*>(\d\dh)</text>', text) == ["03h", "04h", "05h", "06h"]
    slots = re.findall(r"<title>Planned #(\d+): (HD \d+), (\S+) UT</title>", text)
    assert slots == [
        ("1", "HD 1010", "03:00\u201304:00"),
        ("2", "HD 1011", "04:00\u201305:00"),
        ("3", "HD 1012", "05:00\u201306:00"),
    ]
    runs = re.findall(r'<a href="([^"]+)" class="run">\s*<title>(HD \d+), [^<]*, (\w+)</title>', text)
    path = f"/console/nights/CHARA/{NIGHT.isoformat()}"
    assert runs == [
        (f"{path}?observation={seeded.observations['HD 1010']}#observation", "HD 1010", "unknown"),
        (f"{path}?observation={seeded.observations['HD 1011']}#observation", "HD 1011", "bad"),
    ]
    assert 'class="run-bar level-bad"' in text
    # the same as a table: each slot with what observed it, or not
    assert '<caption id="plan-caption">Plan version 1 (3 slots)' in text
    assert "not observed" in text
    # a chosen observation keeps its conditions, (u,v) plot and flag history
    chosen = await _get(console, runs[1][0].removesuffix("#observation"))
    assert chosen.status_code == 200, chosen.text
    assert '<svg class="timeline-plot"' in chosen.text
    assert "(u,v) coverage" in chosen.text
    assert "Flag history" in chosen.text


async def test_a_night_without_plan_or_observation_draws_no_time_line(
    console: Console, seeded: Seeded
) -> None:
    page = await _get(console, "/console/nights/CHARA/2026-10-10")
    assert page.status_code == 404, page.text
    assert "timeline-plot" not in page.text


# --- in Chromium ----------------------------------------------------------------------------------


@needs_chromium
async def test_home_the_calendar_and_a_nights_time_line_in_chromium(
    console: Console, seeded: Seeded, browser: Any, tmp_path: Path
) -> None:
    await _home_with_pushes(console)
    context, page = await sign_in_at(console, browser, "/")
    try:
        await page.get_by_role("heading", name=f"Tonight ({seeded.tonight.isoformat()})").wait_for()
        assert await page.get_by_role("link", name="spica-hd1010.fits").count() == 1
        await page.screenshot(path=tmp_path / "home.png", full_page=True)

        await page.goto(console.url + "/console/nights?month=2026-12")
        await page.get_by_role("link", name="November 2026").click()
        await page.wait_for_url("**/console/nights?month=2026-11")
        await page.screenshot(path=tmp_path / "calendar.png", full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(path=tmp_path / "calendar-phone.png", full_page=True)
        wide = "[...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right > window.innerWidth).map(e => e.tagName + '.' + e.className).slice(0, 5)"
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), (
            await page.evaluate(wide)
        )
        await page.set_viewport_size({"width": 1280, "height": 900})

        await page.get_by_role("link", name="10 November 2026, 2 observation(s)").click()
        await page.wait_for_url(f"**/console/nights/CHARA/{NIGHT.isoformat()}")
        plot = page.locator("svg.timeline-plot")
        await plot.wait_for()
        assert await plot.locator("rect.slot-bar").count() == 3
        await page.screenshot(path=tmp_path / "night-timeline.png", full_page=True)
        # each observation of the time line is a link the keyboard reaches
        await plot.locator("a.run").nth(1).focus()
        await page.keyboard.press("Enter")
        await page.wait_for_url(f"**observation={seeded.observations['HD 1011']}#observation")
        await page.get_by_role("heading", name=re.compile("^HD 1011 at")).wait_for()
        await page.screenshot(path=tmp_path / "night-observation.png", full_page=True)
        await page.set_viewport_size({"width": 390, "height": 844})  # the time line scrolls in its region
        assert await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        await page.screenshot(path=tmp_path / "night-phone.png", full_page=True)
    finally:
        await context.close()
    shots = ("home", "calendar", "calendar-phone", "night-timeline", "night-observation", "night-phone")
    assert all((tmp_path / f"{shot}.png").stat().st_size > 0 for shot in shots)
