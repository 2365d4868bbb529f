"""Bad input found by schemathesis (tests/schemathesis/test_fuzz_web.py), kept as regressions: a browser
gets a page naming the problem wherever it is refused (the gateway included), an API client a problem
document; and what a page may answer is in the console's OpenAPI document."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from spicadb_web.services.console import last_night
from spicadb_web.spec import SPEC
from web_console import Console

from spicadb_kit.runtime.openapi import document

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
PAGE = "text/html; charset=utf-8"


async def test_a_nul_in_a_console_path_is_a_page_to_a_browser_and_a_problem_to_an_api(
    console: Console,
) -> None:
    session = await console.session(*console.admin())
    try:
        page = await session.get("/console/admin/clients/a%00b", headers=BROWSER)
        api = await session.get("/console/admin/clients/a%00b", headers={"Accept": "application/json"})
    finally:
        await session.aclose()
    # refused by the gateway before the console: still a page saying why, with the way home
    assert page.status_code == 400, page.text
    assert page.headers["content-type"] == PAGE, page.text
    assert 'class="problem" role="alert"' in page.text
    assert "control characters are not accepted in paths" in page.text
    assert '<a href="/">' in page.text
    assert "content-security-policy" in page.headers
    assert api.status_code == 400
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["type"].endswith("/bad-path")


async def test_the_operator_api_answers_a_browser_with_its_problem_document(console: Console) -> None:
    """/web/admin/... is the kit's JSON API (documented so): a bad parameter is its problem document even
    to a browser, not the console's page."""
    session = await console.session(*console.admin())
    try:
        answer = await session.get("/web/admin/dead-letters", params={"consumer": "x" * 201}, headers=BROWSER)
        page = await session.get("/console/files/rejections", params={"cursor": "\x00"}, headers=BROWSER)
    finally:
        await session.aclose()
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    assert answer.json()["status"] == 400
    # the console's pages keep theirs
    assert page.status_code == 400
    assert page.headers["content-type"] == PAGE


def test_every_page_documents_its_400_as_a_page() -> None:
    """A page's query parameter out of its bounds is a 400 page to a browser (lost.py): documented."""
    paths: dict[str, Any] = document(SPEC)["paths"]
    pages = [
        (method, path, operation)
        for path, operations in paths.items()
        for method, operation in operations.items()
        if method == "get" and PAGE in operation["responses"].get("200", {}).get("content", {})
    ]
    assert len(pages) > 20
    undocumented = [f"{m.upper()} {p}" for m, p, o in pages if PAGE not in o["responses"]["400"]["content"]]
    assert not undocumented, undocumented


async def test_an_id_not_of_its_type_is_a_page_to_a_browser_and_a_problem_to_an_api(console: Console) -> None:
    session = await console.session(*console.admin())
    try:
        page = await session.get("/console/files/null", headers=BROWSER)
        api = await session.get("/console/files/null", headers={"Accept": "application/json"})
    finally:
        await session.aclose()
    assert page.status_code == 404
    assert page.headers["content-type"] == PAGE
    assert 'class="problem" role="alert"' in page.text
    # Litestar's router answers it: a problem document, documented beside the page
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")


def test_every_page_with_a_path_parameter_documents_its_404_both_ways() -> None:
    paths: dict[str, Any] = document(SPEC)["paths"]
    pages = [
        f"{method.upper()} {path}"
        for path, operations in paths.items()
        for method, operation in operations.items()
        if "{" in path and PAGE in operation["responses"].get("404", {}).get("content", {})
    ]
    assert len(pages) > 10
    undocumented = [
        name
        for name in pages
        if "application/problem+json"
        not in paths[name.split(" ")[1]][name.split(" ")[0].lower()]["responses"]["404"]["content"]
    ]
    assert not undocumented, undocumented


async def test_a_samp_table_keeps_its_problem_even_to_a_browser(console: Console) -> None:
    """The SAMP tables are fetched by applications (TOPCAT, Aladin): their 404 is the documented problem
    document, whoever asks."""
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as anonymous:
        answer = await anonymous.get("/console/samp/no-such-ticket", headers=BROWSER)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_flag_for_an_observation_not_of_the_night_is_refused_on_a_page(console: Console) -> None:
    """The form's refusal is shown beside the form, which needs the observation: without one, the
    problem's own page (not the night's page with nothing saying why)."""
    session = await console.session(*console.admin())
    try:
        csrf = next(c.value for c in session.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))
        answer = await session.post(
            f"/console/nights/CHARA/{last_night().isoformat()}/observations/{uuid.uuid4()}/flags",
            data={"level": "bad", "comment": "clouds"},
            headers={**BROWSER, "X-CSRF-Token": csrf},
        )
    finally:
        await session.aclose()
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == PAGE
    assert 'class="problem" role="alert"' in answer.text


async def test_a_page_names_its_charset_once(console: Console) -> None:
    session = await console.session(*console.admin())
    try:
        home = await session.get("/", headers=BROWSER)
    finally:
        await session.aclose()
    assert home.status_code == 200
    assert home.headers["content-type"] == PAGE  # was "text/html; charset=utf-8; charset=utf-8"
