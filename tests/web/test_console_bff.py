"""The console as a backend for the frontend, without a browser: pages through the gateway with a
session (httpx holding its cookies), what the console answers without one, and what a page never holds."""

from __future__ import annotations

import html
import re

import httpx
import msgspec
from gateway_support import LocalServer
from spicadb_web.app import create_app
from spicadb_web.security import CSP
from spicadb_web.services.console import last_night
from web_console import PASSWORD, Console

from spicadb_kit.infra import free_port

PAGES = ("/", "/console/programmes", "/console/programmes/LP-1", "/console/nights")


async def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(console: Console) -> None:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as browser:
        answer = await browser.get("/console/programmes/LP-1?sort=ra&order=desc")
    assert answer.status_code == 303, answer.text
    assert (
        answer.headers["location"]
        == "/auth/login?next=%2Fconsole%2Fprogrammes%2FLP-1%3Fsort%3Dra%26order%3Ddesc"
    )


async def test_pages_carry_a_strict_csp_and_never_the_token(console: Console) -> None:
    browser = await console.session(*console.admin())
    try:
        session = {c.name: c.value for c in browser.cookies.jar}
        for path in PAGES:
            page = await browser.get(path)
            assert page.status_code == 200, (path, page.text)
            assert page.headers["content-type"].startswith("text/html"), path
            assert page.headers["content-security-policy"] == CSP, path
            assert "'unsafe-inline'" not in CSP
            assert "script-src 'self'" in CSP
            assert page.headers["cache-control"] == "no-store", path
            assert "<script>" not in page.text, path  # nothing inline
            assert " style=" not in page.text, path
            for value in session.values():  # neither the session id nor anything derived from it
                assert value not in page.text, (path, value)
            assert not re.search(r"eyJ[\w-]{10,}\.[\w-]{10,}\.", page.text), path  # no JWT
        css = await browser.get("/static/console.css")
        assert css.status_code == 200
        assert css.headers["content-type"].startswith("text/css")
    finally:
        await browser.aclose()


async def test_the_programmes_list_shows_progress_and_the_programme_its_targets(console: Console) -> None:
    browser = await console.session(*console.admin())
    try:
        listing = await browser.get("/console/programmes")
        programme = await browser.get(
            "/console/programmes/LP-1", params={"work_package": "WP1", "sort": "ra"}
        )
    finally:
        await browser.aclose()
    assert "LP-1" in listing.text
    assert "LP-2" in listing.text
    assert "<progress" in listing.text
    assert programme.status_code == 200, programme.text
    rows = re.findall(r'<th scope="row">(HD \d+)</th>', programme.text)
    assert len(rows) == 50  # a page of the 60 targets of WP1, by RA
    assert rows[0] == "HD 1001"
    assert 'rel="next"' in programme.text
    exports = re.findall(r'href="(/programmes/LP-1/targets/export\?[^"]+)"', programme.text)
    assert [html.unescape(e) for e in exports] == [
        "/programmes/LP-1/targets/export?format=votable&work_package=WP1",
        "/programmes/LP-1/targets/export?format=csv&work_package=WP1",
    ]
    browser = await console.session(*console.admin())
    try:  # the links work with the browser's session, as a click would
        votable = await browser.get(html.unescape(exports[0]))
        csv = await browser.get(html.unescape(exports[1]))
    finally:
        await browser.aclose()
    assert votable.status_code == 200, votable.text
    assert votable.text.count("<TR>") == 60
    assert csv.status_code == 200, csv.text
    assert len(csv.text.strip().splitlines()) == 61


async def test_a_403_from_the_api_is_shown_as_its_problem_and_the_page_is_not_offered(
    console: Console,
) -> None:
    browser = await console.session("nora", PASSWORD)  # no role: no programmes:read
    try:
        home = await browser.get("/")
        page = await browser.get("/console/programmes")
    finally:
        await browser.aclose()
    assert home.status_code == 200, home.text
    assert 'href="/console/programmes"' not in home.text  # not offered
    assert page.status_code == 403, page.text
    assert re.search(r"<h1>(.*?)</h1>", page.text)[1] == "Forbidden"  # type: ignore[index]
    assert "this route needs the scope(s): programmes:read" in page.text


async def test_a_programme_the_api_refuses_shows_its_problem_title(console: Console) -> None:
    browser = await console.session("bob", PASSWORD)
    try:
        listing = await browser.get("/console/programmes")
        page = await browser.get("/console/programmes/LP-2")
        nights = await browser.get("/")
    finally:
        await browser.aclose()
    assert "LP-2" not in listing.text  # what bob may not see does not appear
    assert page.status_code == 404, page.text  # the API does not say a private programme exists
    assert re.search(r"<h1>(.*?)</h1>", page.text)[1] == "Not Found"  # type: ignore[index]
    assert "LP-2" in page.text  # the problem's detail names what was asked
    assert 'role="alert"' in page.text
    assert "Signed in as <strong>bob</strong>" in nights.text


async def test_home_and_the_night_show_last_nights_log_with_its_flags(console: Console) -> None:
    browser = await console.session(*console.admin())
    night = last_night().isoformat()
    try:
        home = await browser.get("/")
        nights = await browser.get("/console/nights")
        page = await browser.get(f"/console/nights/CHARA/{night}")
    finally:
        await browser.aclose()
    assert f"Last night ({night})" in home.text
    assert "3 observation(s), log version 1." in home.text
    assert '<span class="level level-bad">bad</span> 1' in home.text
    assert f'href="/console/nights/CHARA/{night}"' in nights.text
    assert page.status_code == 200, page.text
    assert re.findall(r'<th scope="row"><a [^>]*>(HD \d+)</a></th>', page.text) == [
        "HD 1000",
        "HD 1001",
        "HD 9999",
    ]
    assert page.text.count('<span class="level level-bad">bad</span>') == 2  # the summary and its row


async def test_a_platform_that_does_not_answer_is_a_502_page_not_an_error(console: Console) -> None:
    """A console whose API base is a closed port, called directly with a valid token."""
    web = console.servers["web"]
    settings = msgspec.structs.replace(
        web.app.state.context.settings, api_url=f"http://127.0.0.1:{free_port()}"
    )
    token = await console.token(*console.admin(), scope="openid admin")
    server = await LocalServer(create_app(settings)).start()
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            page = await client.get("/console/programmes", headers={"Authorization": "Bearer " + token})
    finally:
        await server.stop()
    assert page.status_code == 502, page.text
    assert re.search(r"<h1>(.*?)</h1>", page.text)[1] == "Bad Gateway"  # type: ignore[index]
    assert "the platform could not be reached for /programmes" in page.text


async def test_a_path_nobody_serves_is_the_consoles_404_page(console: Console) -> None:
    browser = await console.session(*console.admin())
    try:
        lost = await browser.get("/console/nowhere", headers={"Accept": "text/html,*/*;q=0.8"})
        api = await browser.get("/console/nowhere")  # a client not asking for HTML keeps the problem
        css = await browser.get("/static/console.css")
        live = await browser.get("/health/live")  # the gateway's own, not the console's
    finally:
        await browser.aclose()
    assert lost.status_code == 404, lost.text
    assert lost.headers["content-type"].startswith("text/html")
    assert "There is no page at /console/nowhere." in lost.text
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert css.status_code == 200
    assert live.status_code == 200
