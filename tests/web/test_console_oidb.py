"""The console's OiDB view: the search by cone (a target's name, resolved from the granules' own names, or
its coordinates in degrees or sexagesimal), night, programme, mode, calibration and quality levels, over
granules that came the real way (synthetic OIFITS files pushed through the gateway, indexed by oifits,
kept by oidb from its events); quick-look thumbnails, downloads and DataLink of each; a granule's page
with its plots; the API's rights (a private programme's granule never appears to a stranger); bad input a
400 page naming the field beside its input, never a 500. In Chromium: search, the thumbnail and the plots
load (screenshots kept in tmp_path; with production settings: test_console_oidb_production.py)."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from spicadb_web.rendering import href
from spicadb_web.services.oidb import SearchForm, read_search
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console
from web_oidb import ALTAIR, DENEB, Seeded, loaded, push_granules

INPUTS = {"target": "search", "radius": "number", "night": "date"}
STRANGER = "bob"  # an astronomer of no programme: sees released granules only


@pytest.fixture(scope="module")
async def seeded(console: Console) -> Seeded:
    return await push_granules(console)


async def _page(console: Console, user: str, path: str, **params: Any) -> httpx.Response:
    browser = (
        await console.session(user, PASSWORD) if user != "admin" else await console.session(*console.admin())
    )
    try:
        return await browser.get(path, params=params)
    finally:
        await browser.aclose()


def _targets(page: httpx.Response) -> list[str]:
    """The targets of the result table's rows, in order."""
    return re.findall(
        r'<th scope="row"><a href="/console/oidb/granules/[^"]+">([^<]+)</a>', html.unescape(page.text)
    )


def test_names_may_start_with_a_digit_coordinates_hold_only_their_units() -> None:
    for text in ("51 Peg", "3C 273", "HD 1234", "12 abc"):
        form = SearchForm(target=text)
        assert (read_search(form).name, form.errors) == (text, {}), text
    for text in ("18h36m56.3s +38d47m01s", "279.2347 38.7837", "2.79e2 -3.8e1", "18:36:56 +38:47:01"):
        form = SearchForm(target=text)
        assert read_search(form).position is not None, (text, form.errors)


async def test_a_name_is_resolved_from_the_granules_and_searched_around(
    console: Console, seeded: Seeded
) -> None:
    page = await _page(console, STRANGER, "/console/oidb", target="vega")
    assert page.status_code == 200, page.text
    text = html.unescape(page.text)
    # HR 7001 is an arcsecond from Vega: the cone around the name's position finds it too
    assert _targets(page) == ["Vega", "HR 7001"]
    assert "vega: 18:36:56.33 +38:47:01.3" in text
    assert '<a href="/console/oidb" aria-current="page">OiDB</a>' in page.text
    vega = seeded.granules["Vega"]
    # the thumbnail, same-origin through the gateway, lazy, described
    thumb = re.search(r'<img class="thumb" src="([^"]+)" alt="([^"]+)" loading="lazy"', text)
    assert thumb is not None
    assert thumb.group(1).startswith(f"/oifits/granules/{vega['granule_id']}/previews/")
    assert thumb.group(2).endswith("of Vega, night 2019-05-14")
    assert f'href="/oifits/files/{vega["file_id"]}/content" download' in text
    assert f'href="{href("/oidb/links", ID=vega["obs_publisher_did"])}"' in page.text
    # what the page links to works for the visitor's browser session
    browser = await console.session(STRANGER, PASSWORD)
    try:
        image = await browser.get(thumb.group(1))
        assert image.status_code == 200
        assert image.headers["content-type"] == "image/png"
        download = await browser.get(f"/oifits/files/{vega['file_id']}/content")
        assert download.status_code == 200
        assert download.content[:6] == b"SIMPLE"
        links = await browser.get("/oidb/links", params={"ID": vega["obs_publisher_did"]})
        assert links.status_code == 200
        assert "#this" in links.text
    finally:
        await browser.aclose()
    # a name no granule the visitor may see bears
    nowhere = await _page(console, STRANGER, "/console/oidb", target="Nowhere")
    assert nowhere.status_code == 200
    assert "No granule you may see is named “Nowhere”" in html.unescape(nowhere.text)
    assert _targets(nowhere) == []


async def test_coordinates_in_sexagesimal_and_degrees(console: Console, seeded: Seeded) -> None:
    for target in ("18 36 56.3 +38 47 01", "18:36:56.3 +38:47:01", "18h36m56.3s +38d47m01s"):
        page = await _page(console, STRANGER, "/console/oidb", target=target, radius="1")
        assert page.status_code == 200, (target, page.text)
        assert _targets(page) == ["Vega", "HR 7001"], target
    # degrees, and a radius (arcmin) small enough to tell the two apart
    page = await _page(console, STRANGER, "/console/oidb", target="279.2347 38.7837", radius="0.005")
    assert _targets(page) == ["Vega"]
    page = await _page(console, STRANGER, "/console/oidb", target=f"{DENEB[0]} {DENEB[1]}")
    assert _targets(page) == ["Deneb"]


async def test_night_programme_mode_and_levels(console: Console, seeded: Seeded) -> None:
    for params, expected in (
        ({}, ["Vega", "HR 7001", "Deneb"]),
        ({"night": "2019-06-19"}, ["HR 7001"]),
        ({"night": "2019-05-14"}, ["Vega", "Deneb"]),
        ({"programme": "LP-1"}, ["Vega", "HR 7001", "Deneb"]),
        ({"programme": "LP-2"}, []),
        ({"mode": "LR"}, ["Vega", "HR 7001", "Deneb"]),
        ({"mode": "HR"}, []),
        ({"calib_level": "3"}, ["Deneb"]),
        ({"quality": "4"}, ["Vega"]),
        ({"target": "Deneb", "night": "2019-06-19"}, []),
    ):
        page = await _page(console, STRANGER, "/console/oidb", **params)
        assert page.status_code == 200, (params, page.text)
        assert _targets(page) == expected, params


async def test_a_private_granule_never_appears_to_a_stranger(console: Console, seeded: Seeded) -> None:
    altair = seeded.id("Altair")
    for params in ({}, {"target": "Altair"}, {"target": f"{ALTAIR[0]} {ALTAIR[1]}"}, {"programme": "LP-2"}):
        page = await _page(console, STRANGER, "/console/oidb", **params)
        assert page.status_code == 200
        assert "Altair" not in _targets(page), params
        assert altair not in page.text
    refused = await _page(console, STRANGER, f"/console/oidb/granules/{altair}")
    assert refused.status_code == 404
    assert "Altair" not in refused.text
    # the admin sees it, and its page with the plots full size
    page = await _page(console, "admin", "/console/oidb", target="Altair")
    assert _targets(page) == ["Altair"]
    granule = await _page(console, "admin", f"/console/oidb/granules/{altair}")
    assert granule.status_code == 200, granule.text
    text = html.unescape(granule.text)
    assert "<h1>Altair · 2026-05-14 · LR</h1>" in text
    assert "LP-2" in text
    assert "secure" in text
    plots = re.findall(r'<figure class="plot">\s*<img src="([^"]+)" alt="([^"]+)"', text)
    assert [src.rsplit("/", 1)[1] for src, _ in plots] == [
        p["url"].rsplit("/", 1)[1] for p in seeded.granules["Altair"]["previews"]
    ]
    assert all(alt.endswith("of Altair, night 2026-05-14") for _, alt in plots)


async def test_pages_follow_the_apis_cursor(console: Console, seeded: Seeded) -> None:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as anonymous:
        first = (await anonymous.get("/oidb/granules", params={"limit": 1})).json()
    page = await _page(console, STRANGER, "/console/oidb", cursor=first["next"])
    assert page.status_code == 200
    assert _targets(page) == ["HR 7001", "Deneb"]
    assert '<a href="/console/oidb">First page</a>' in page.text
    assert 'rel="next"' not in page.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"target": "18 36 56 +38 47 61"}, "target", "cannot be read as coordinates"),
        ({"target": "1.2.3 4"}, "target", "cannot be read as coordinates"),
        ({"target": "400 10"}, "target", "right ascension is not in [0, 360)"),
        ({"target": "10 95"}, "target", "declination is not in [-90, 90]"),
        ({"target": "25:00:00 +10:00:00"}, "target", "cannot be read as coordinates"),
        ({"target": "18 36 56"}, "target", "as many parts each"),
        ({"target": "Vega", "radius": "0"}, "radius", "arcminutes above 0 and at most 600"),
        ({"target": "Vega", "radius": "601"}, "radius", "arcminutes above 0 and at most 600"),
        ({"target": "Vega", "radius": "nan"}, "radius", "arcminutes"),
        ({"night": "2019-02-30"}, "night", "YYYY-MM-DD"),
        ({"night": "yesterday"}, "night", "YYYY-MM-DD"),
        ({"mode": "XR"}, "mode", "one of LR"),
        ({"calib_level": "9"}, "calib_level", "one of 0 (raw)"),
        ({"quality": "-1"}, "quality", "one of 0 (unknown)"),
    ],
)
async def test_bad_input_is_a_400_page_naming_the_field(
    console: Console, seeded: Seeded, params: dict[str, str], field: str, message: str
) -> None:
    page = await _page(console, STRANGER, "/console/oidb", **params)
    assert page.status_code == 400, page.text
    text = html.unescape(page.text)
    assert f'<p class="field-error" id="oidb-{field}-error">' in text
    assert message in text
    assert re.search(rf'id="oidb-{field}"[^>]*aria-invalid="true"', text) or re.search(
        rf'id="oidb-{field}"[^>]*aria-describedby="[^"]*oidb-{field}-error', text
    )
    # what was typed is kept (a select keeps its choices), and no results are shown
    for name, value in params.items():
        if name in ("target", "radius", "night"):
            assert f'name="{name}" type="{INPUTS[name]}" value="{html.escape(value)}"' in page.text
    assert "<table" not in page.text


async def test_other_bad_requests_are_4xx_never_500(console: Console, seeded: Seeded) -> None:
    bad_cursor = await _page(console, STRANGER, "/console/oidb", cursor="abc")
    assert bad_cursor.status_code == 400, bad_cursor.text
    assert "Bad cursor" in bad_cursor.text
    assert (await _page(console, STRANGER, "/console/oidb", target="x" * 201)).status_code == 400
    for params in ({"target": "Ve\x00ga"}, {"programme": "LP\x001"}, {"night": "2019-05-14\x00"}):
        assert (await _page(console, STRANGER, "/console/oidb", **params)).status_code == 400, params
    assert (await _page(console, STRANGER, "/console/oidb/granules/not-a-uuid")).status_code == 404
    unknown = await _page(console, STRANGER, "/console/oidb/granules/00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404


@needs_chromium
async def test_search_in_a_browser_and_open_the_quick_look(
    console: Console, seeded: Seeded, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, "/console/oidb", (STRANGER, PASSWORD))
    try:
        await page.get_by_label("Target name or coordinates").fill("Vega")
        await page.get_by_role("button", name="Search").click()
        await page.wait_for_url(re.compile(r".*/console/oidb\?target=Vega.*"))
        rows = page.locator("table.granules tbody th[scope=row] a")
        assert await rows.all_inner_texts() == ["Vega", "HR 7001"]
        assert all(width > 0 for width in await loaded(page, "img.thumb"))
        await page.screenshot(path=tmp_path / "oidb-search.png", full_page=True)
        await rows.first.click()
        await page.wait_for_url(console.url + f"/console/oidb/granules/{seeded.id('Vega')}")
        widths = await loaded(page, "figure.plot img")
        assert len(widths) == len(seeded.granules["Vega"]["previews"]) > 0
        assert all(width > 0 for width in widths)
        await page.screenshot(path=tmp_path / "oidb-granule.png", full_page=True)
        # the plot alone, full size
        await page.get_by_role("link", name="the image alone").first.click()
        await page.wait_for_url(re.compile(r".*/previews/.*"))
        assert await page.evaluate("() => document.images[0].naturalWidth") > 0
        # a phone's width: nothing scrolls sideways
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(console.url + "/console/oidb?target=Vega")
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
        await page.screenshot(path=tmp_path / "oidb-phone.png", full_page=True)
        # a bad position: the message beside its input
        await page.goto(console.url + "/console/oidb?target=1.2.3+4")
        await page.screenshot(path=tmp_path / "oidb-bad-input.png", full_page=True)
        assert await page.locator("#oidb-target").get_attribute("aria-invalid") == "true"
        assert "cannot be read as coordinates" in await page.locator("#oidb-target-error").inner_text()
    finally:
        await context.close()
