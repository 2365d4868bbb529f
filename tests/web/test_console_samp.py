""" "Send to Aspro2/TOPCAT" over SAMP, without a browser: the console keeps the Aspro2 VOTable of the
selected targets (fetched with the visitor's rights) under a short-lived ticket whose URL works without
any cookie, as the receiving application fetches it; the ticket expires; bad input is a 4xx problem.
The SAMP hub and a receiving client in Chromium: test_console_samp_hub.py."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from astropy.io.votable import parse_single_table
from gateway_support import LocalServer
from harness import eventually
from spicadb_web.app import create_app as create_web
from spicadb_web.security import CSP
from spicadb_web.services import samp
from web_console import PASSWORD, Console

VOTABLE = "application/x-votable+xml"


@asynccontextmanager
async def signed_in(console: Console, username: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    browser = await console.session(username, password)
    try:
        yield browser
    finally:
        await browser.aclose()


async def target_ids(console: Console, code: str, token: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        answer = await api.get(
            f"/programmes/{code}/targets/",
            params={"limit": 200},
            headers={"Authorization": "Bearer " + token},
        )
    assert answer.status_code == 200, answer.text
    return {t["name"]: t["id"] for t in answer.json()["items"]}


@pytest.fixture(scope="module")
async def seeded(console: Console) -> dict[str, Any]:
    """LP-1's targets by name; LP-2 (private, bob may not see it) with one target of its own."""
    admin = await console.token(*console.admin(), scope="openid admin programmes:read programmes:write")
    async with httpx.AsyncClient(
        base_url=console.url, timeout=60, headers={"Authorization": "Bearer " + admin}
    ) as api:
        imported = await api.post(
            "/programmes/LP-2/targets/import", json=[{"name": "HD 99999", "ra": 100.0, "dec": -20.0}]
        )
        assert imported.status_code in (200, 201), imported.text
    return {
        "LP-1": await target_ids(console, "LP-1", admin),
        "LP-2": await target_ids(console, "LP-2", admin),
    }


def names(votable: bytes) -> list[str]:
    table = parse_single_table(io.BytesIO(votable)).to_table()
    return sorted(str(n) for n in table["NAME"])


async def send(
    browser: httpx.AsyncClient, code: str, targets: list[str], csrf: bool = True
) -> httpx.Response:
    headers = {"Accept": "application/json"}
    if csrf:
        headers["X-CSRF-Token"] = browser.cookies.get("spicadb_gateway_csrf") or ""
    return await browser.post(f"/console/programmes/{code}/samp", data={"target": targets}, headers=headers)


async def test_the_programme_page_offers_the_selection_and_the_send_buttons(
    console: Console, seeded: dict[str, Any]
) -> None:
    async with signed_in(console, *console.admin()) as browser:
        page = await browser.get("/console/programmes/LP-1")
    assert page.status_code == 200, page.text
    text = page.text
    # one checkbox per target row, named for screen readers, part of the SAMP form
    boxes = re.findall(r'<input type="checkbox" name="target" value="([^"]+)" form="samp-form" '
                       r'aria-label="Select ([^"]+)">', text)  # fmt: skip
    assert len(boxes) == 50
    assert all(seeded["LP-1"][name] == value for value, name in boxes)
    assert 'aria-label="Select all targets on this page"' in text
    assert '<form id="samp-form" class="samp" method="post" action="/console/programmes/LP-1/samp"' in text
    for label in ("Send to TOPCAT", "Send to Aspro2"):
        assert label in text
    assert '<script src="/static/samp.js" defer></script>' in text
    # the page may speak to the SAMP hub on the visitor's machine, and to nothing else new
    assert page.headers["content-security-policy"] == CSP
    sources = dict(part.strip().split(" ", 1) for part in CSP.split(";"))
    assert sources["connect-src"] == "'self' http://localhost:21012"
    assert sources["script-src"] == "'self'"
    assert sources["default-src"] == "'none'"


async def test_a_ticket_serves_the_selected_targets_without_any_cookie(
    console: Console, seeded: dict[str, Any]
) -> None:
    chosen = ["HD 1003", "HD 1010", "HD 1042"]
    async with signed_in(console, *console.admin()) as browser:
        answer = await send(browser, "LP-1", [seeded["LP-1"][n] for n in chosen])
    assert answer.status_code == 201, answer.text
    ticket = answer.json()
    assert ticket["targets"] == 3
    assert ticket["name"] == "LP-1 targets"
    assert ticket["url"].startswith(console.url + "/console/samp/")
    assert ticket["url"].endswith(".vot")
    assert answer.headers["cache-control"] == "no-store"
    # the receiving application: no cookie, no token
    async with httpx.AsyncClient(timeout=60) as application:
        table = await application.get(ticket["url"])
        again = await application.get(ticket["url"])
    assert table.status_code == 200, table.text
    assert table.headers["content-type"].startswith(VOTABLE)
    assert names(table.content) == chosen
    assert again.content == table.content  # an application may fetch it more than once while it lives
    # the Aspro2 export's layout: Aspro2 reads it as its own target list
    assert b'name="INSTRUMENT"' in table.content


async def test_targets_the_visitor_may_not_see_are_not_sent(console: Console, seeded: dict[str, Any]) -> None:
    hidden = seeded["LP-2"]["HD 99999"]
    async with signed_in(console, *console.admin()) as admin:
        # another programme's target through this programme's page: not one of its targets
        mixed = await send(admin, "LP-1", [seeded["LP-1"]["HD 1001"], hidden])
        alone = await send(admin, "LP-1", [hidden])
    assert mixed.status_code == 201, mixed.text
    assert mixed.json()["targets"] == 1
    async with httpx.AsyncClient(timeout=60) as application:
        assert names((await application.get(mixed.json()["url"])).content) == ["HD 1001"]
    assert alone.status_code == 404, alone.text
    assert alone.headers["content-type"].startswith("application/problem+json")
    assert alone.json()["title"] == "No such target"
    # bob may not see LP-2: the programmes API refuses him, and so does the console
    async with signed_in(console, "bob", PASSWORD) as bob:
        refused = await send(bob, "LP-2", [hidden])
    assert refused.status_code in (403, 404), refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert "url" not in refused.json()


async def test_without_the_session_token_nothing_is_sent(console: Console, seeded: dict[str, Any]) -> None:
    async with signed_in(console, *console.admin()) as browser:
        answer = await send(browser, "LP-1", [seeded["LP-1"]["HD 1001"]], csrf=False)
        forged = await browser.post(
            "/console/programmes/LP-1/samp",
            data={"target": [seeded["LP-1"]["HD 1001"]]},
            headers={"X-CSRF-Token": "forged"},
        )
    for refused in (answer, forged):
        assert refused.status_code == 403, refused.text
        assert refused.json()["title"] == "Nothing was sent"
        assert refused.json()["type"].endswith("/not-sent")


async def test_a_ticket_made_by_one_replica_is_served_by_another(
    console: Console, seeded: dict[str, Any]
) -> None:
    """Two replicas of the console behind one gateway: the application's fetch may reach either."""
    settings = console.servers["web"].app.state.context.settings
    other = await LocalServer(create_web(settings)).start()
    try:
        async with signed_in(console, *console.admin()) as browser:
            answer = await send(browser, "LP-1", [seeded["LP-1"]["HD 1005"]])
        assert answer.status_code == 201, answer.text
        path = httpx.URL(answer.json()["url"]).path
        async with httpx.AsyncClient(timeout=60) as application:
            table = await application.get(other.url + path)
        assert table.status_code == 200, table.text
        assert names(table.content) == ["HD 1005"]
    finally:
        await other.stop()


async def test_a_ticket_expires(
    console: Console, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samp, "TICKET_LIFETIME", timedelta(seconds=1))
    async with signed_in(console, *console.admin()) as browser:
        answer = await send(browser, "LP-1", [seeded["LP-1"]["HD 1001"]])
    assert answer.status_code == 201, answer.text
    url = answer.json()["url"]

    async def gone() -> httpx.Response | None:
        async with httpx.AsyncClient(timeout=60) as application:
            fetched = await application.get(url)
        return fetched if fetched.status_code == 404 else None

    expired = await eventually(gone, timeout=30)
    assert expired.headers["content-type"].startswith("application/problem+json")


async def test_a_visitor_keeps_a_bounded_number_of_tickets(
    console: Console, seeded: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(samp, "MAX_PER_VISITOR", 2)
    target = [seeded["LP-1"]["HD 1001"]]
    async with signed_in(console, *console.admin()) as browser:
        urls = [(await send(browser, "LP-1", target)).json()["url"] for _ in range(3)]
    async with httpx.AsyncClient(timeout=60) as application:
        statuses = [(await application.get(url)).status_code for url in urls]
    assert statuses == [404, 200, 200]  # the oldest went


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/console/samp/unknown.vot", 404),
        ("/console/samp/" + "A" * 43 + ".vot", 404),
        ("/console/samp/" + "A" * 43, 404),
        ("/console/samp/" + "%00" * 43 + ".vot", 400),  # the kit refuses control characters in paths
        ("/console/samp/" + "x" * 3000 + ".vot", 404),
    ],
)
async def test_a_bad_ticket_is_not_found(console: Console, path: str, status: int) -> None:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as application:
        answer = await application.get(path)
    assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    ("targets", "field"),
    [
        ([], "body.target"),
        (["not-a-uuid"], "body.target"),
        (["00000000-0000-0000-0000-000000000001"] * 201, "body.target"),
        (["\x00"], "body.target"),
    ],
)
async def test_a_bad_selection_is_a_400_naming_the_field(
    console: Console, seeded: dict[str, Any], targets: list[str], field: str
) -> None:
    async with signed_in(console, *console.admin()) as browser:
        answer = await send(browser, "LP-1", targets)
    assert answer.status_code == 400, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in answer.json()["errors"]] == [field]


async def test_an_unknown_programme_is_a_404(console: Console, seeded: dict[str, Any]) -> None:
    async with signed_in(console, *console.admin()) as browser:
        answer = await send(browser, "NO-SUCH", [seeded["LP-1"]["HD 1001"]])
        long = await send(browser, "X" * 3000, [seeded["LP-1"]["HD 1001"]])
    assert answer.status_code == 404, answer.text
    assert long.status_code in (400, 404), long.text
