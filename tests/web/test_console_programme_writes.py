"""A programme's proposals and its target list import from the console: the proposal's moves (who, when,
why) and the move form for its PI (the committee's decisions not offered), refused moves shown by their
problem; the import previewed first (the API's dry run: each bad cell marked at its row and column in the
file's rows, nothing written), then imported, offered only to the programme's PI and co-investigators;
an oversized file and a file that is no table answered with a page. In Chromium: a co-investigator
imports a list with an error, sees the bad cell, fixes it and imports it (screenshots kept)."""

from __future__ import annotations

import html
import io
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from astropy.io.votable import from_table
from astropy.table import Table
from spicadb_programmes.domain import COMMITTEE_TRANSITIONS, EDITOR_ROLES, TRANSITIONS
from spicadb_web.services import programmes as console_programmes
from spicadb_web.services.imports import CARRY_MAX_BYTES, UPLOAD_MAX_BYTES
from spicadb_web.spec import IMPORT_FORM_BYTES
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console

CODE = "LP-7"
PI, COI, VIEWER = "pia", "cora", "vic"  # astronomers: LP-7's PI, a co-investigator, a viewer
PAGE = f"/console/programmes/{CODE}"
IMPORT = f"{PAGE}/import"
PROPOSAL = f"{PAGE}/proposals/2027A"

# the 3rd data row's RA is no angle: line 5 of the file (after a comment and the header), column RAJ2000
BAD_CSV = (
    "# three stars for the console's import\n"
    "name,RAJ2000,DEJ2000,Vmag\n"
    "HD 2001,10.5,-20.25,5.1\n"
    "HD 2002,11.5,-21.25,5.2\n"
    "HD 2003,25h61m,-22.25,5.3\n"
)
FIXED_CSV = BAD_CSV.replace("25h61m", "12.5")


@pytest.fixture(scope="module")
async def admin(console: Console) -> str:
    """LP-7 led by pia with cora (co-investigator) and vic (viewer), its proposal for 2027A a draft."""
    return await seed_programme(console)


async def seed_programme(console: Console) -> str:
    token = await console.token(*console.admin(), scope="openid admin")
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + token}
    ) as api:
        for username in (PI, COI, VIEWER):
            made = await api.post("/admin/users", json={"username": username, "password": PASSWORD,
                                                        "roles": ["astronomer"]})  # fmt: skip
            assert made.status_code == 201, made.text
        members = [{"username": COI, "role": "co-investigator"}, {"username": VIEWER, "role": "viewer"}]
        created = await api.post(
            "/programmes/",
            json={"code": CODE, "title": "Young stars", "pi": PI, "members": members},
        )
        assert created.status_code == 201, created.text
        made = await api.post(
            f"/programmes/{CODE}/work-packages", json={"code": "WP-A", "title": "The bright ones"}
        )
        assert made.status_code == 201, made.text
        proposed = await api.post(
            f"/programmes/{CODE}/proposals",
            json={"period": "2027A", "title": "Discs of young stars", "requested_hours": 12.5},
        )
        assert proposed.status_code == 201, proposed.text
    return token


def _csrf(browser: httpx.AsyncClient) -> dict[str, str]:
    value = next(c.value for c in browser.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))
    return {"X-CSRF-Token": value}


async def _targets(console: Console, admin: str) -> list[str]:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        answer = await api.get(f"/programmes/{CODE}/targets", headers={"Authorization": "Bearer " + admin})
    assert answer.status_code == 200, answer.text
    return [t["name"] for t in answer.json()["items"]]


def _text(answer: httpx.Response) -> str:
    return html.unescape(answer.text)


def test_the_console_moves_proposals_and_imports_as_the_api_allows() -> None:
    assert console_programmes.TRANSITIONS == TRANSITIONS
    assert console_programmes.COMMITTEE_MOVES == COMMITTEE_TRANSITIONS
    assert console_programmes.EDITOR_ROLES == EDITOR_ROLES


# ------------------------------------------------------------------------------------------- proposals


async def test_the_programme_shows_its_proposal_and_the_pi_is_offered_the_pis_moves(
    console: Console, admin: str
) -> None:
    browser = await console.session(PI, PASSWORD)
    try:
        programme = await browser.get(PAGE)
        assert programme.status_code == 200, programme.text
        text = _text(programme)
        assert '<h2 id="proposals">Proposals</h2>' in text
        assert f'<a href="{PROPOSAL}">2027A · Discs of young stars</a>' in text
        assert "No move yet: draft since" in text
        assert f'<a href="{PROPOSAL}#move">Move it</a> (submitted, withdrawn)' in text
        proposal = await browser.get(PROPOSAL)
        assert proposal.status_code == 200, proposal.text
        text = _text(proposal)
        assert 'class="writes move-form"' in text
        offered = re.findall(r'<option value="([a-z-]+)"', text)
        assert offered == ["submitted", "withdrawn"]  # the committee's decisions are not the PI's
    finally:
        await browser.aclose()


async def test_the_pi_moves_the_proposal_and_sees_the_move(console: Console, admin: str) -> None:
    browser = await console.session(PI, PASSWORD)
    try:
        sent = await browser.post(
            f"{PROPOSAL}/transitions", data={"to": "submitted", "comment": "ready"}, headers=_csrf(browser)
        )
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"] == f"{PROPOSAL}?saved=true#moves"
        shown = _text(await browser.get(sent.headers["location"]))
        assert "Move saved: the proposal is submitted." in shown
        assert f"<strong>{PI}</strong>: draft → submitted · “ready”" in shown
        offered = re.findall(r'<option value="([a-z-]+)"', shown)
        assert offered == ["withdrawn"]  # under-review is the committee's
        programme = _text(await browser.get(PAGE))
        assert "draft → submitted" in programme
    finally:
        await browser.aclose()


async def test_a_move_the_api_refuses_shows_its_problem_beside_the_form(console: Console, admin: str) -> None:
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + admin}
    ) as api:
        proposal = f"/programmes/{CODE}/proposals/2027A"
        if (await api.get(proposal)).json()["status"] == "draft":  # run alone: submitted first
            moved = await api.post(f"{proposal}/transitions", json={"to": "submitted"})
            assert moved.status_code == 200, moved.text
        browser = await console.session(PI, PASSWORD)
        try:
            # the committee's decision forged into the form: the API refuses it, nothing moves
            sent = await browser.post(
                f"{PROPOSAL}/transitions",
                data={"to": "under-review", "comment": "kept"},
                headers=_csrf(browser),
            )
            assert sent.status_code == 403, sent.text
            text = _text(sent)
            assert 'role="alert" id="move-result"' in text
            assert "time allocation committee" in text
            assert ">kept</textarea>" in text
            # a move the lifecycle does not have: the API's conflict, shown the same way
            sent = await browser.post(f"{PROPOSAL}/transitions", data={"to": "draft"}, headers=_csrf(browser))
            assert sent.status_code == 409, sent.text
            assert "cannot become draft" in _text(sent)
            # a status that does not exist: the wrong field named beside its input
            sent = await browser.post(
                f"{PROPOSAL}/transitions", data={"to": "splendid"}, headers=_csrf(browser)
            )
            assert sent.status_code in (400, 422), sent.text
            text = _text(sent)
            assert "<code>to</code>" in text
            assert '<select id="move-to" name="to" aria-invalid="true"' in text
            # without the script's header: nothing saved, said plainly
            plain = await browser.post(f"{PROPOSAL}/transitions", data={"to": "withdrawn"})
            assert plain.status_code == 403, plain.text
            assert "Nothing was saved" in plain.text
        finally:
            await browser.aclose()
        assert (await api.get(proposal)).json()["status"] == "submitted"


async def test_a_co_investigator_is_not_offered_the_move_and_a_missing_proposal_is_a_404_page(
    console: Console, admin: str
) -> None:
    browser = await console.session(COI, PASSWORD)
    try:
        assert "Move it" not in (await browser.get(PAGE)).text
        proposal = await browser.get(PROPOSAL)
        assert proposal.status_code == 200, proposal.text
        assert "move-form" not in proposal.text
        assert "Moves" in proposal.text
        missing = await browser.get(f"{PAGE}/proposals/1999B")
        assert missing.status_code == 404, missing.text
        assert missing.headers["content-type"].startswith("text/html")
        bad = await browser.get(f"{PAGE}?imported=-1")
        assert bad.status_code == 400, bad.text
    finally:
        await browser.aclose()


# ---------------------------------------------------------------------------------------------- import


async def test_a_preview_marks_each_bad_cell_at_its_row_and_column_and_writes_nothing(
    console: Console, admin: str
) -> None:
    browser = await console.session(COI, PASSWORD)
    try:
        programme = _text(await browser.get(PAGE))
        assert f'<a href="{IMPORT}">Import a target list</a>' in programme
        form = await browser.get(IMPORT)
        assert form.status_code == 200, form.text
        assert 'enctype="multipart/form-data"' in form.text
        assert 'class="writes import-form"' in form.text
        assert '<label for="import-file">' in form.text
        sent = await browser.post(
            IMPORT,
            files={"file": ("stars.csv", BAD_CSV.encode(), "text/csv")},
            data={"dry_run": "true", "duplicates": "keep"},
            headers=_csrf(browser),
        )
        assert sent.status_code == 422, sent.text
        text = _text(sent)
        assert 'role="alert" id="import-result"' in text
        # the file's rows, numbered by their line, the bad cell marked and described
        assert '<th scope="col">Line</th><th scope="col">name</th><th scope="col">RAJ2000</th>' in text
        cell = re.search(
            r'<td class="bad" id="cell-5-1" tabindex="-1" aria-invalid="true" aria-describedby="([^"]+)">',
            text,
        )
        assert cell is not None, text
        assert "25h61m" in text
        # the list of errors links to the cell
        assert '<a href="#cell-5-1">Line 5, column RAJ2000</a>' in text
        assert "Nothing was imported" in text
        assert text.count('aria-invalid="true"') == 1
    finally:
        await browser.aclose()
    assert await _targets(console, admin) == []


async def test_a_fixed_file_is_previewed_then_imported(console: Console, admin: str) -> None:
    browser = await console.session(COI, PASSWORD)
    try:
        preview = await browser.post(
            IMPORT,
            files={"file": ("stars.csv", FIXED_CSV.encode(), "text/csv")},
            data={"dry_run": "true", "duplicates": "keep", "work_package": "WP-A"},
            headers=_csrf(browser),
        )
        assert preview.status_code == 200, preview.text
        text = _text(preview)
        assert "3 target(s) would be created" in text
        assert "Nothing was written yet." in text
        assert "its 3 row(s)" in text
        assert await _targets(console, admin) == []
        # the preview's Import form carries the very bytes previewed
        carried = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', preview.text))
        assert carried["filename"] == "stars.csv"
        assert carried["work_package"] == "WP-A"
        done = await browser.post(
            IMPORT, files={k: (None, v) for k, v in carried.items()}, headers=_csrf(browser)
        )
        assert done.status_code == 303, done.text
        assert done.headers["location"] == f"{PAGE}?imported=3#targets"
        shown = _text(await browser.get(done.headers["location"]))
        assert "3 target(s) imported." in shown
        assert '<th scope="row">HD 2003</th>' in shown
    finally:
        await browser.aclose()
    assert sorted(await _targets(console, admin)) == ["HD 2001", "HD 2002", "HD 2003"]


def _votable(decs: list[float]) -> bytes:
    """An Aspro2-like VOTable of three stars (columns found by UCD), with these declinations."""
    stars = Table(
        {"NAME": ["HD 6001", "HD 6002", "HD 6003"], "RA": [30.5, 31.5, 32.5], "DEC": decs},
    )
    buffer = io.BytesIO()
    votable = from_table(stars)
    for field, ucd in zip(votable.get_first_table().fields, ("meta.id;meta.main", "pos.eq.ra;meta.main",
                                                             "pos.eq.dec;meta.main"), strict=True):  # fmt: skip
        field.ucd = ucd
        field.unit = None if ucd.startswith("meta.id") else "deg"
    votable.to_xml(buffer)
    return buffer.getvalue()


async def test_a_votable_and_a_tsv_are_previewed_by_their_rows(console: Console, admin: str) -> None:
    browser = await console.session(COI, PASSWORD)
    try:
        # the second row's declination is out of range: row 2 (a VOTable's rows by their place), column DEC
        sent = await browser.post(
            IMPORT,
            files={"file": ("aspro2.vot", _votable([10.0, 95.0, 12.0]), "application/octet-stream")},
            data={"dry_run": "true"},
            headers=_csrf(browser),
        )
        assert sent.status_code == 422, sent.text
        text = _text(sent)
        assert '<th scope="col">Row</th><th scope="col">NAME</th><th scope="col">RA</th>' in text
        assert '<td class="bad" id="cell-2-2" tabindex="-1" aria-invalid="true"' in text
        assert '<a href="#cell-2-2">Row 2, column DEC</a>' in text
        fixed = await browser.post(
            IMPORT,
            files={"file": ("aspro2.vot", _votable([10.0, 11.0, 12.0]), "application/octet-stream")},
            data={"dry_run": "true"},
            headers=_csrf(browser),
        )
        assert fixed.status_code == 200, fixed.text
        assert "(votable): 3 target(s) would be created" in _text(fixed)
        # a TSV is read as the API reads a CSV whose header has tabs; an unknown policy is the API's 400
        tsv = "name\tra\tdec\nHD 7001\t40.5\t-5\nHD 7002\t41.5\t-6\n"
        sent = await browser.post(
            IMPORT,
            files={"file": ("stars.tsv", tsv.encode(), "text/tab-separated-values")},
            data={"dry_run": "true"},
            headers=_csrf(browser),
        )
        assert sent.status_code == 200, sent.text
        text = _text(sent)
        assert "(csv): 2 target(s) would be created" in text
        assert '<th scope="row" id="row-3">3</th>' in text
        sent = await browser.post(
            IMPORT,
            files={"file": ("stars.tsv", tsv.encode(), "text/tab-separated-values")},
            data={"dry_run": "true", "duplicates": "bogus"},
            headers=_csrf(browser),
        )
        assert sent.status_code == 400, sent.text
        assert "duplicates" in sent.text
    finally:
        await browser.aclose()
    assert not {"HD 6001", "HD 7001"} & set(await _targets(console, admin))


async def test_a_file_too_large_to_carry_back_is_chosen_again_for_the_import(
    console: Console, admin: str
) -> None:
    """Over 1 MiB the preview does not carry the file back: the form asks for it again, unticked."""
    padding = "".join(f"# {k:07d} {'.' * 100}\n" for k in range(11_000))  # comment lines: skipped by the API
    listing = (padding + "name,ra,dec\nHD 8001,50.5,1\nHD 8002,51.5,2\nHD 8003,52.5,3\n").encode()
    assert len(listing) > CARRY_MAX_BYTES
    browser = await console.session(COI, PASSWORD)
    try:
        preview = await browser.post(
            IMPORT,
            files={"file": ("long.csv", listing, "text/csv")},
            data={"dry_run": "true"},
            headers=_csrf(browser),
        )
        assert preview.status_code == 200, preview.text[:500]
        text = _text(preview)
        assert "3 target(s) would be created" in text
        assert 'name="content"' not in text
        assert "choose the same file again below, untick “Preview only” and send" in text
        assert '<input type="checkbox" name="dry_run" value="true">' in text  # unticked
        done = await browser.post(
            IMPORT, files={"file": ("long.csv", listing, "text/csv")}, headers=_csrf(browser)
        )
        assert done.status_code == 303, done.text[:500]
        assert done.headers["location"] == f"{PAGE}?imported=3#targets"
    finally:
        await browser.aclose()
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        found = await api.get(
            f"/programmes/{CODE}/targets",
            params={"q": "HD 800"},
            headers={"Authorization": "Bearer " + admin},
        )
    assert sorted(t["name"] for t in found.json()["items"]) == ["HD 8001", "HD 8002", "HD 8003"]


async def test_a_viewer_is_not_offered_the_import_and_is_refused_it(console: Console, admin: str) -> None:
    browser = await console.session(VIEWER, PASSWORD)
    try:
        programme = await browser.get(PAGE)
        assert programme.status_code == 200, programme.text
        assert "Import a target list" not in programme.text
        form = await browser.get(IMPORT)
        assert form.status_code == 403, form.text
        assert "You may not import targets here" in form.text
        sent = await browser.post(
            IMPORT,
            files={"file": ("more.csv", b"name,ra,dec\nHD 3001,1.0,2.0\n", "text/csv")},
            headers=_csrf(browser),
        )
        assert sent.status_code == 403, sent.text
        assert "You may not import targets here" in sent.text
    finally:
        await browser.aclose()
    assert "HD 3001" not in await _targets(console, admin)


async def test_an_oversized_file_no_file_and_a_file_that_is_no_table_are_pages(
    console: Console, admin: str
) -> None:
    browser = await console.session(COI, PASSWORD)
    before = await _targets(console, admin)
    try:
        # just over the console's bound (read, then refused), and well over it (refused unread)
        for size in (UPLOAD_MAX_BYTES + 1, UPLOAD_MAX_BYTES + 512 * 1024):
            big = b"name,ra,dec\n" + b"x" * (size - 12)
            sent = await browser.post(
                IMPORT, files={"file": ("big.csv", big, "text/csv")}, headers=_csrf(browser)
            )
            assert sent.status_code == 413, (size, sent.text[:300])
            assert sent.headers["content-type"].startswith("text/html")
            assert "The file is too large" in sent.text
        # no file chosen
        sent = await browser.post(IMPORT, data={"dry_run": "true"}, headers=_csrf(browser))
        assert sent.status_code == 422, sent.text
        assert "Choose a file" in sent.text
        assert '<input id="import-file" name="file" type="file"' in sent.text
        assert 'aria-invalid="true" aria-describedby="import-result"' in sent.text
        empty = await browser.post(
            IMPORT,
            files={"file": ("empty.csv", b"", "text/csv")},
            data={"dry_run": "true"},
            headers=_csrf(browser),
        )
        assert empty.status_code == 422, empty.text
        assert "The file is empty" in empty.text
        # an image is no target list; nor is a VOTable that is not XML
        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
        for name, content, media in (
            ("sky.png", png, "image/png"),
            ("list.vot", b"this is not xml", "application/octet-stream"),
        ):
            sent = await browser.post(
                IMPORT,
                files={"file": (name, content, media)},
                data={"dry_run": "true"},
                headers=_csrf(browser),
            )
            assert 400 <= sent.status_code < 500, (name, sent.status_code, sent.text[:300])
            assert sent.headers["content-type"].startswith("text/html")
            assert 'class="problem" role="alert"' in sent.text
        # a body that is not a form (a broken multipart one): a page, never the framework's JSON
        broken = {**_csrf(browser), "Content-Type": "multipart/form-data; boundary=abc"}
        for path in (IMPORT, f"{PROPOSAL}/transitions"):
            sent = await browser.post(path, content=b"garbage", headers=broken)
            assert sent.status_code == 400, (path, sent.text[:300])
            assert sent.headers["content-type"].startswith("text/html")
            assert "The form could not be read" in sent.text
        # a programme that does not exist
        missing = await browser.get("/console/programmes/NOPE-1/import")
        assert missing.status_code == 404, missing.text
    finally:
        await browser.aclose()
    assert await _targets(console, admin) == before


# --------------------------------------------------------------------------------------------- browser


async def _import_in_a_browser(
    console: Console, browser: Any, tmp_path: Path, names: tuple[str, ...]
) -> None:
    """cora signs in at LP-7, imports a list with an error (the bad cell marked), then the fixed list."""
    context, page = await sign_in_at(console, browser, PAGE, (COI, PASSWORD))
    bad = BAD_CSV.replace("HD 2001", names[0]).replace("HD 2002", names[1]).replace("HD 2003", names[2])
    try:
        await page.screenshot(path=tmp_path / "programme.png", full_page=True)
        await page.get_by_role("link", name="Import a target list").click()
        await page.wait_for_url(console.url + IMPORT)
        await page.get_by_label("Target list (CSV or TSV").set_input_files(
            {"name": "stars.csv", "mimeType": "text/csv", "buffer": bad.encode()}
        )
        await page.get_by_role("button", name="Send").click()
        alert = page.get_by_role("alert")
        await alert.wait_for()
        await page.screenshot(path=tmp_path / "import-error.png", full_page=True)
        cell = page.locator("td.bad")
        assert await cell.count() == 1
        assert await cell.get_attribute("aria-invalid") == "true"
        assert "25h61m" in await cell.inner_text()
        assert await page.evaluate("document.activeElement.id") == "import-result"
        await alert.get_by_role("link", name="Line 5, column RAJ2000").click()
        assert await page.evaluate("location.hash") == "#cell-5-1"
        assert await page.evaluate("document.activeElement.id") == "cell-5-1"  # the focus on the cell
        # on a phone the preview does not scroll sideways (the file's rows scroll in their region)
        await page.set_viewport_size({"width": 390, "height": 844})
        assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        await page.screenshot(path=tmp_path / "phone-import-error.png", full_page=True)
        await page.set_viewport_size({"width": 1280, "height": 720})
        # the list fixed, previewed, then imported
        fixed = bad.replace("25h61m", "12.5")
        await page.get_by_label("Target list (CSV or TSV").set_input_files(
            {"name": "stars.csv", "mimeType": "text/csv", "buffer": fixed.encode()}
        )
        await page.get_by_role("button", name="Send").click()
        await page.get_by_role("status").filter(has_text="3 target(s) would be created").wait_for()
        await page.screenshot(path=tmp_path / "import-preview.png", full_page=True)
        await page.get_by_role("button", name="Import 3 target(s)").click()
        await page.get_by_role("status").filter(has_text="3 target(s) imported.").wait_for()
        assert page.url.startswith(console.url + PAGE + "?imported=3")
        for name in names:
            await page.get_by_role("rowheader", name=name, exact=True).wait_for()
        await page.screenshot(path=tmp_path / "imported.png", full_page=True)
    finally:
        await context.close()


@needs_chromium
async def test_a_co_investigator_imports_a_list_in_a_browser(
    console: Console, admin: str, browser: Any, tmp_path: Path
) -> None:
    names = ("HD 4001", "HD 4002", "HD 4003")
    await _import_in_a_browser(console, browser, tmp_path, names)
    assert set(names) <= set(await _targets(console, admin))


@needs_chromium
async def test_a_file_over_the_gateways_limit_is_said_so_in_a_browser(
    console: Console, admin: str, browser: Any, tmp_path: Path
) -> None:
    """Past the console's own 413 page, the gateway refuses the body (its problem document): the script
    says so and leaves the form as it was."""
    before = await _targets(console, admin)
    context, page = await sign_in_at(console, browser, IMPORT, (COI, PASSWORD))
    try:
        huge = b"name,ra,dec\n" + b"x" * (IMPORT_FORM_BYTES + 1024)
        await page.get_by_label("Target list (CSV or TSV").set_input_files(
            {"name": "huge.csv", "mimeType": "text/csv", "buffer": huge}
        )
        said: list[str] = []

        async def note(dialog: Any) -> None:
            said.append(dialog.message)
            await dialog.dismiss()

        page.on("dialog", note)
        await page.get_by_role("button", name="Send").click()
        await page.get_by_role("button", name="Send").and_(page.locator(":enabled")).wait_for()
        assert len(said) == 1, said
        assert said[0].startswith("Nothing was saved: "), said
        assert str(IMPORT_FORM_BYTES) in said[0]  # the gateway names its limit
        assert page.url == console.url + IMPORT
        await page.screenshot(path=tmp_path / "import-too-large.png", full_page=True)
    finally:
        await context.close()
    assert await _targets(console, admin) == before


@needs_chromium
async def test_the_pi_moves_the_proposal_in_a_browser(
    console: Console, admin: str, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, PROPOSAL, (PI, PASSWORD))
    try:
        await page.screenshot(path=tmp_path / "proposal.png", full_page=True)
        status = page.get_by_label("New status")
        to = await status.locator("option").first.get_attribute(
            "value"
        )  # draft or submitted: by the order run
        await status.select_option(to)
        await page.get_by_label("Comment").fill("moved in a browser")
        await page.get_by_role("button", name="Move the proposal").click()
        await page.get_by_role("status").filter(has_text=f"Move saved: the proposal is {to}.").wait_for()
        assert await page.evaluate("document.activeElement.id") == "move-result"
        assert "moved in a browser" in await page.locator("ol.history li").last.inner_text()
        await page.screenshot(path=tmp_path / "proposal-moved.png", full_page=True)
    finally:
        await context.close()


@needs_chromium
async def test_the_import_works_with_production_settings(
    production_console: Console, browser: Any, tmp_path: Path
) -> None:
    """Secure cookies (the session's ``__Host-``): the multipart form carries the CSRF header too."""
    admin = await seed_programme(production_console)
    names = ("HD 5001", "HD 5002", "HD 5003")
    await _import_in_a_browser(production_console, browser, tmp_path, names)
    assert sorted(await _targets(production_console, admin)) == list(names)
