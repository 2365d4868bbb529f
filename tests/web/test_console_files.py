"""The Files pages: the pushes (filters, keyset pages), a file with its validation report, granules and
versions (superseded both ways), the rejections with the rules that refused them; the oifits API's rights
(bob, in no programme, sees neither LP-1's recent files nor their pages), bad input a 4xx page. Seeded by
pushing synthetic OIFITS files through the gateway as the DRS would: a clean file, a newer reduction of
the same DRS product (which supersedes it, with a warning in its report), an old released file, and a
broken one (refused)."""

from __future__ import annotations

import hashlib
import html
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from harness import eventually
from oifits_support import OLD, RECENT, oifits
from spicadb_oifits.catalogue import RULES
from spicadb_oifits.models import FileStatus
from spicadb_web.services.files import FILE_STATUSES
from synthetic import Observation, Spec, Target, build, drop, reverse_wavelengths, to_bytes
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console

PRODUCT = "LR/2026-05-14/HD1"
OUTSIDER = "bob"  # an astronomer of no programme (oifits:read)
NOBODY = "nora"  # no role: no oifits:read


@dataclass
class Files:
    first: dict[str, Any]  # version 1 of PRODUCT, superseded by second
    second: dict[str, Any]  # version 2, with a W-WAVE warning
    released: dict[str, Any]  # an LP-1 file observed long ago: everyone's
    rejection: dict[str, Any]  # the broken push's rejection


async def _push(api: httpx.AsyncClient, data: bytes, filename: str, **params: str) -> httpx.Response:
    return await api.post(
        "/oifits/files",
        params={"filename": filename, **params},
        content=data,
        headers={"Content-Type": "application/fits"},
    )


def _newer_reduction() -> bytes:
    """The same observation reduced again (another software version), its wavelengths reversed (W-WAVE)."""
    spec = Spec(
        targets=(Target("HD 1"),),
        observations=(Observation(RECENT),),
        primary={"OBS PROG ID": "LP-1", "PROCSOFT": "spica-drs 2.1"},
    )
    return to_bytes(reverse_wavelengths(build(spec)))


@pytest.fixture(scope="module")
async def files(console: Console) -> Files:
    admin = await console.token(*console.admin(), scope="openid admin")
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + admin}
    ) as api:
        pushed = await _push(api, oifits(), "HD1_LR.fits", product=PRODUCT)
        assert pushed.status_code == 201, pushed.text
        first = pushed.json()
        if first["programme"] is None:  # oifits had not heard of LP-1 yet: attach it once it has
            await eventually(lambda: _attach(api, first["id"]), timeout=60, interval=0.5)
        pushed = await _push(api, _newer_reduction(), "HD1_LR_v2.fits", product=PRODUCT)
        assert pushed.status_code == 201, pushed.text
        second = pushed.json()
        pushed = await _push(api, oifits(target="HD 7", at=(OLD,)), "HD7_old.fits")
        assert pushed.status_code == 201, pushed.text
        released = pushed.json()
        if released["programme"] is None:
            await eventually(lambda: _attach(api, released["id"]), timeout=60, interval=0.5)
        broken = await _push(api, to_bytes(drop(build(Spec()), "OI_WAVELENGTH")), "broken.fits")
        assert broken.status_code == 422, broken.text
        rejection = (await api.get(f"/oifits/rejections/{broken.json()['rejection_id']}")).json()
    # the admin (LP-1's PI) reads LP-1's files with a person's scopes once the membership reached oifits
    reader = await console.token(*console.admin(), scope="openid oifits:read")
    await eventually(lambda: _visible(console, reader, second["id"]), timeout=60, interval=0.5)
    return Files(first, second, released, rejection)


async def _attach(api: httpx.AsyncClient, file_id: str) -> bool | None:
    answer = await api.put(f"/oifits/files/{file_id}/programme", json={"programme": "LP-1"})
    return True if answer.status_code == 200 else None


async def _visible(console: Console, token: str, file_id: str) -> bool | None:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        answer = await api.get(f"/oifits/files/{file_id}", headers={"Authorization": "Bearer " + token})
    return True if answer.status_code == 200 else None


async def _page(console: Console, user: str, password: str, path: str) -> httpx.Response:
    browser = await console.session(user, password)
    try:
        return await browser.get(path, headers={"Accept": "text/html"})
    finally:
        await browser.aclose()


def _text(answer: httpx.Response) -> str:
    return html.unescape(answer.text)


def test_the_console_offers_the_statuses_the_api_takes() -> None:
    assert FileStatus.__args__ == FILE_STATUSES


async def test_the_pushes_list_with_status_programme_size_and_who(console: Console, files: Files) -> None:
    answer = await _page(console, *console.admin(), "/console/files")
    assert answer.status_code == 200, answer.text
    text = _text(answer)
    assert '<a href="/console/files" aria-current="page">Files</a>' in text
    for pushed in (files.first, files.second, files.released):
        assert f'<a href="/console/files/{pushed["id"]}">{pushed["filename"]}</a>' in text
    assert f"{PRODUCT} (v2)" in text
    assert '<span class="status status-superseded">superseded</span>' in text
    assert console.admin()[0] in text  # who pushed
    assert "<caption" in text
    assert 'scope="col"' in text
    # filtered: only the superseded version
    answer = await _page(console, *console.admin(), "/console/files?status=superseded")
    text = _text(answer)
    assert files.first["id"] in text
    assert files.second["id"] not in text
    assert '<option value="superseded" selected>' in text


async def test_the_pushes_page_on_the_api_cursor(console: Console, files: Files) -> None:
    newest_first = [files.released, files.second, files.first]  # as pushed, the last first
    token = await console.token(*console.admin(), scope="openid admin")
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        first_page = await api.get(
            "/oifits/files",
            params={"programme": "LP-1", "limit": 1},
            headers={"Authorization": "Bearer " + token},
        )
    assert [f["id"] for f in first_page.json()["items"]] == [files.released["id"]]
    cursor = first_page.json()["next"]
    browser = await console.session(*console.admin())
    try:
        whole = await browser.get("/console/files", params={"programme": "LP-1"})
        rest = await browser.get("/console/files", params={"programme": "LP-1", "cursor": cursor})
    finally:
        await browser.aclose()
    assert [f["id"] in whole.text for f in newest_first] == [True, True, True]
    assert 'rel="next"' not in whole.text  # one page holds them all
    # the page that follows the API's cursor: the files after it, newest first
    assert rest.status_code == 200, rest.text
    assert [f["id"] in rest.text for f in newest_first] == [False, True, True]
    assert rest.text.index(files.second["id"]) < rest.text.index(files.first["id"])


async def test_a_file_shows_its_report_granules_versions_and_download(console: Console, files: Files) -> None:
    second = files.second
    answer = await _page(console, *console.admin(), f"/console/files/{second['id']}")
    assert answer.status_code == 200, answer.text
    text = _text(answer)
    # the report as the API gives it: the warning's rule, where and what
    (warning,) = [f for f in second["report"]["findings"] if f["severity"] == "warning"]
    assert "<code>W-WAVE</code>" in text
    assert warning["location"] in text
    assert warning["message"] in text
    assert second["verdict"] in text
    assert "Profile</dt><dd>archive" in text
    # every rule the archive profile checks, with how the file fared
    archive = [rule for rule in RULES if "archive" in rule.profiles]
    assert f"The {len(archive)} rules checked: {len(archive) - 1} passed" in text
    assert '<span class="severity severity-warning">1 warning</span>' in text
    assert "<code>R-DRS</code>" not in text  # the drs profile's own rule
    # granules link to the OiDB view's granule page
    (granule,) = second["granules"]
    assert f'<a href="/console/oidb/granules/{granule["id"]}">HD 1</a>' in text
    # it supersedes version 1
    assert f'This file supersedes <a href="/console/files/{files.first["id"]}">version 1</a>' in text
    assert f'href="/oifits/files/{second["id"]}/content"' in text
    assert second["sha256"] in text


async def test_a_superseded_file_says_what_superseded_it(console: Console, files: Files) -> None:
    answer = await _page(console, *console.admin(), f"/console/files/{files.first['id']}")
    assert answer.status_code == 200, answer.text
    text = _text(answer)
    assert 'id="superseded-notice"' in text
    assert f'by <a href="/console/files/{files.second["id"]}">a newer version</a>' in text
    assert f'<a href="/console/files/{files.second["id"]}">version 2</a>' in text  # the versions table
    assert "No finding: every rule the archive profile checks passed." in text


async def test_the_download_link_gives_the_bytes(console: Console, files: Files) -> None:
    browser = await console.session(*console.admin())
    try:
        answer = await browser.get(f"/oifits/files/{files.first['id']}/content")
    finally:
        await browser.aclose()
    assert answer.status_code == 200
    assert hashlib.sha256(answer.content).hexdigest() == files.first["sha256"]


async def test_a_rejection_shows_the_rules_that_refused_it(console: Console, files: Files) -> None:
    errors = [f for f in files.rejection["report"]["findings"] if f["severity"] == "error"]
    assert errors
    listing = await _page(console, OUTSIDER, PASSWORD, "/console/files/rejections")
    assert listing.status_code == 200, listing.text
    text = _text(listing)
    assert f'<a href="/console/files/rejections/{files.rejection["id"]}">broken.fits</a>' in text
    assert f"<code>{errors[0]['rule']}</code>" in text
    answer = await _page(console, OUTSIDER, PASSWORD, f"/console/files/rejections/{files.rejection['id']}")
    assert answer.status_code == 200, answer.text
    text = _text(answer)
    assert "Rejected: broken.fits" in text
    refusing = {f["rule"] for f in errors}
    assert (
        f"rules checked: {len([r for r in RULES if 'archive' in r.profiles]) - len(refusing)} passed" in text
    )
    for rule in refusing:
        count = sum(1 for f in errors if f["rule"] == rule)
        assert f"{count} error{'s' if count != 1 else ''}</span>" in text
    for finding in errors:
        assert f"<code>{finding['rule']}</code>" in text
        assert finding["location"] in text
        assert finding["message"] in text


async def test_an_outsider_sees_only_what_the_api_shows_them(console: Console, files: Files) -> None:
    listing = await _page(console, OUTSIDER, PASSWORD, "/console/files")
    assert listing.status_code == 200, listing.text
    assert files.released["id"] in listing.text  # released: everyone's
    assert files.first["id"] not in listing.text
    assert files.second["id"] not in listing.text
    refused = await _page(console, OUTSIDER, PASSWORD, f"/console/files/{files.second['id']}")
    assert refused.status_code == 404, refused.text
    assert files.second["filename"] not in refused.text
    assert "W-WAVE" not in refused.text


async def test_a_visitor_without_oifits_read_is_not_offered_files(console: Console, files: Files) -> None:
    home = await _page(console, NOBODY, PASSWORD, "/")
    assert home.status_code == 200, home.text
    assert 'href="/console/files"' not in home.text
    refused = await _page(console, NOBODY, PASSWORD, "/console/files/rejections")
    assert refused.status_code == 403, refused.text


def _csrf(browser: httpx.AsyncClient) -> str:
    return next(c.value for c in browser.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))


async def _programme(console: Console, file_id: str) -> str | None:
    token = await console.token(*console.admin(), scope="openid admin")
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        answer = await api.get(f"/oifits/files/{file_id}", headers={"Authorization": "Bearer " + token})
    programme = answer.json()["programme"]
    return str(programme) if programme else None


async def test_an_admin_attaches_a_file_to_a_programme(console: Console, files: Files) -> None:
    file_id = files.released["id"]
    action = f"/console/files/{file_id}/programme"
    browser = await console.session(*console.admin())
    try:
        shown = await browser.get(f"/console/files/{file_id}")
        assert 'id="programme-form" class="writes filters"' in shown.text
        sent = await browser.post(
            action, data={"programme": "LP-2"}, headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"/console/files/{file_id}?saved=true#programme-form"
        saved = await browser.get(sent.headers["location"])
        assert "Programme saved: LP-2." in saved.text
        assert await _programme(console, file_id) == "LP-2"
        # a programme the API does not know: the page again, its problem beside the field, the code kept
        refused = await browser.post(
            action, data={"programme": "NOPE-9"}, headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert refused.status_code == 422, refused.text
        text = _text(refused)
        assert 'role="alert" id="programme-result" data-result' in text
        assert "<code>programme</code>:" in text
        assert (
            'value="NOPE-9" maxlength="64" aria-describedby="programme-hint programme-result" aria-invalid="true"'
            in text
        )
        # without the script's header nothing is saved
        plain = await browser.post(action, data={"programme": ""})
        assert plain.status_code == 403, plain.text
        assert "Nothing was saved" in plain.text
        back = await browser.post(
            action, data={"programme": "LP-1"}, headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert back.status_code == 303, back.text
    finally:
        await browser.aclose()
    assert await _programme(console, file_id) == "LP-1"


async def test_who_is_not_an_admin_is_not_offered_the_programme_form(console: Console, files: Files) -> None:
    file_id = files.released["id"]
    browser = await console.session(OUTSIDER, PASSWORD)
    try:
        shown = await browser.get(f"/console/files/{file_id}")
        assert shown.status_code == 200, shown.text
        assert "programme-form" not in shown.text
        # sent anyway (the script's header and all): the API refuses, the page says so, nothing changes
        sent = await browser.post(
            f"/console/files/{file_id}/programme",
            data={"programme": "LP-2"},
            headers={"X-CSRF-Token": _csrf(browser)},
        )
        assert sent.status_code == 403, sent.text
        assert 'role="alert" id="programme-result"' in sent.text
        assert "programme-form" not in sent.text
    finally:
        await browser.aclose()
    assert await _programme(console, file_id) == "LP-1"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/files/not-a-uuid", 404),
        ("/console/files/rejections/12345", 404),
        (f"/console/files/{uuid.uuid4()}", 404),
        (f"/console/files/rejections/{uuid.uuid4()}", 404),
        ("/console/files?status=deleted", 400),
        ("/console/files?status=" + "x" * 300, 400),
        ("/console/files?sha256=" + "a" * 65, 400),
        ("/console/files?cursor=garbage", 400),
        ("/console/files/rejections?cursor=%00%ff", 400),
    ],
)
async def test_bad_input_is_a_4xx_page(console: Console, files: Files, path: str, status: int) -> None:
    answer = await _page(console, *console.admin(), path)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("text/html"), answer.text


async def test_a_filter_out_of_bounds_is_a_page_naming_the_field(console: Console, files: Files) -> None:
    # refused by the console's parameter bounds before its handler runs (a page, not the JSON problem)
    long = await _page(console, *console.admin(), "/console/files?sha256=" + "a" * 65)
    assert long.status_code == 400
    assert "<code>query.sha256</code>" in long.text
    # refused by the page: the statuses the API takes
    bad = await _page(console, *console.admin(), "/console/files?status=deleted")
    assert bad.status_code == 400
    assert "<code>status</code>: one of current, superseded" in bad.text


@needs_chromium
async def test_in_a_browser_the_files_a_file_and_a_rejection(
    console: Console, files: Files, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, "/console/files")
    try:
        await page.screenshot(path=str(tmp_path / "files.png"), full_page=True)
        await page.get_by_role("link", name="HD1_LR_v2.fits").first.click()
        await page.wait_for_url(f"{console.url}/console/files/{files.second['id']}")
        assert await page.get_by_role("cell", name="W-WAVE").count() == 0  # a row header, not a cell
        assert await page.get_by_role("rowheader", name="W-WAVE").is_visible()
        await page.locator("summary", has_text="rules checked").click()  # the whole list, opened
        assert await page.get_by_role(
            "cell", name="EFF_WAVE ascending and between 0.1 and 20 µm"
        ).is_visible()
        await page.screenshot(path=str(tmp_path / "file.png"), full_page=True)
        await page.get_by_role("link", name="version 1").click()
        await page.wait_for_url(f"{console.url}/console/files/{files.first['id']}")
        assert await page.locator("#superseded-notice").is_visible()
        await page.screenshot(path=str(tmp_path / "superseded.png"), full_page=True)
        await page.get_by_role("link", name="Rejections").click()
        await page.wait_for_url(f"{console.url}/console/files/rejections")
        await page.get_by_role("link", name="broken.fits").click()
        await page.wait_for_url(f"{console.url}/console/files/rejections/{files.rejection['id']}")
        rule = next(f["rule"] for f in files.rejection["report"]["findings"] if f["severity"] == "error")
        assert await page.get_by_role("rowheader", name=rule).first.is_visible()
        await page.screenshot(path=str(tmp_path / "rejection.png"), full_page=True)
        # a phone's width: nothing scrolls sideways
        await page.set_viewport_size({"width": 390, "height": 844})
        for path in (f"/console/files/{files.second['id']}", "/console/files"):
            await page.goto(console.url + path)
            wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not wide, path
        await page.screenshot(path=str(tmp_path / "files-phone.png"), full_page=True)
    finally:
        await context.close()
