"""The platform's health and dead letters in the console, for admins: every service's readiness asked at
once (a service that does not answer shown down, never a 500), every service's dead letters with a Replay
button whose outcome comes back on the page, and nothing of it for a visitor who is no admin."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
import pytest
from harness import eventually
from spicadb_gateway.sessions import AsyncOAuth2Client
from spicadb_web.api import Api
from spicadb_web.config import WebSettings
from spicadb_web.services.caller import Caller
from spicadb_web.services.operations import HOME_HEALTH_SECONDS, SERVICES, OperationsConsole
from spicadb_web.services.session import ApiSession
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console

from spicadb_kit.auth import Principal
from spicadb_kit.spec import discover_services

# an event no consumer can read: obsportal's night-log consumer sets it aside at once
SUBJECT = "spicadb.nightlogs.observation.flagged.v1"


def _csrf(browser: httpx.AsyncClient) -> str:
    return next(c.value for c in browser.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))


@pytest.fixture(scope="module")
async def letter(console: Console) -> int:
    """A dead letter of obsportal's night-log consumer, produced by the platform: a message on the night
    logs' stream that is no event."""
    nc = await nats.connect(console.servers["gateway"].settings.nats_url)  # type: ignore[union-attr]
    try:
        await nc.jetstream().publish(SUBJECT, b"{not an event", headers={"ce-id": "broken-1"})
    finally:
        await nc.close()
    admin = await console.token(*console.admin(), scope="openid admin")

    async def listed() -> int | None:
        async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
            answer = await api.get(
                "/obsportal/admin/dead-letters", headers={"Authorization": "Bearer " + admin}
            )
        assert answer.status_code == 200, answer.text
        items = answer.json()["items"]
        return int(items[0]["id"]) if items else None

    found: int = await eventually(listed, timeout=60)
    return found


def test_the_console_asks_each_service_where_it_answers() -> None:
    assert {spec.name: spec.admin_path for spec in discover_services()} == SERVICES


async def test_an_admin_sees_every_services_health_at_once(console: Console, letter: int) -> None:
    browser = await console.session(*console.admin())
    try:
        health = await browser.get("/console/admin/health")
        home = await browser.get("/")
    finally:
        await browser.aclose()
    assert health.status_code == 200, health.text
    text = html.unescape(health.text)
    assert '<caption id="health-caption">Each service\'s readiness</caption>' in text
    for name in ("auth", "gateway", "programmes", "nightlogs", "obsportal", "oifits", "oidb", "web"):
        assert f'<section id="service-{name}"' in text
    assert "obsportal's consumers: their lag" in text
    assert '<th scope="row">obsportal_night_logs</th>' in text
    # the test platform runs no TAP service: shown down, the page answered all the same
    assert '<h2 id="service-tap-title">tap <span class="state state-down">down</span></h2>' in text
    assert home.status_code == 200, home.text
    assert '<h2 id="platform-health">Platform health</h2>' in home.text
    assert "Not ready or down: <strong>tap</strong>." in home.text


async def test_a_dead_letter_is_listed_and_its_replay_outcome_shown(console: Console, letter: int) -> None:
    browser = await console.session(*console.admin())
    try:
        listing = await browser.get("/console/admin/dead-letters")
        assert listing.status_code == 200, listing.text
        assert f'<tr id="letter-obsportal-{letter}">' in listing.text
        assert "undecodable" in listing.text
        action = f"/console/admin/dead-letters/obsportal/{letter}/replay"
        assert f'<form class="writes" method="post" action="{action}">' in listing.text

        sent = await browser.post(action, headers={"X-CSRF-Token": _csrf(browser)})
        assert sent.status_code == 303, sent.text
        assert sent.headers["location"].startswith(
            f"/console/admin/dead-letters?of=obsportal&letter={letter}&outcome=not+replayed"
        )
        shown = await browser.get(sent.headers["location"])
        assert shown.status_code == 200, shown.text
        assert f"Dead letter {letter} of obsportal: not replayed (" in shown.text
        assert "data-result" in shown.text

        # refused by the API: the page again with its status and the problem's title
        missing = await browser.post(
            "/console/admin/dead-letters/obsportal/987654/replay", headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert missing.status_code == 404, missing.text
        assert 'role="alert"' in missing.text
        unknown = await browser.post(
            "/console/admin/dead-letters/nowhere/1/replay", headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert unknown.status_code == 404, unknown.text
        # without the script's token nothing is replayed
        plain = await browser.post(action)
        assert plain.status_code == 403, plain.text
        one = await browser.get("/console/admin/dead-letters?service=obsportal")
        assert one.status_code == 200, one.text
        assert '<h2 id="letters-nightlogs">' not in one.text
    finally:
        await browser.aclose()


@pytest.mark.parametrize(
    "query",
    [
        "service=nowhere",
        "service=obsportal&cursor=garbage",
        "letter=abc",
        "replayed=perhaps",
        f"service={'s' * 41}",
        f"cursor={'c' * 2001}",
    ],
)
async def test_bad_input_is_a_4xx_page(console: Console, query: str) -> None:
    browser = await console.session(*console.admin())
    try:
        answer = await browser.get(f"/console/admin/dead-letters?{query}", headers={"Accept": "text/html"})
    finally:
        await browser.aclose()
    assert 400 <= answer.status_code < 500, (query, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("text/html")


async def test_who_is_no_admin_gets_neither_the_pages_nor_the_panel(console: Console) -> None:
    browser = await console.session("bob", PASSWORD)
    try:
        health = await browser.get("/console/admin/health")
        letters = await browser.get("/console/admin/dead-letters")
        replay = await browser.post(
            "/console/admin/dead-letters/obsportal/1/replay", headers={"X-CSRF-Token": _csrf(browser)}
        )
        home = await browser.get("/")
    finally:
        await browser.aclose()
    assert health.status_code == letters.status_code == replay.status_code == 403
    assert "for administrators" in health.text
    assert "Platform health" not in home.text
    assert "/console/admin/health" not in home.text


# while it stands, the gateway's revocation consumer cannot apply a revocation (its handler fails)
REFUSE = """
CREATE FUNCTION gateway.refuse_revocations() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'revocations refused for the test'; END $$;
CREATE TRIGGER refuse_revocations BEFORE INSERT ON gateway.revoked_token
FOR EACH ROW EXECUTE FUNCTION gateway.refuse_revocations();
"""
ALLOW = "DROP TRIGGER refuse_revocations ON gateway.revoked_token; DROP FUNCTION gateway.refuse_revocations()"


async def test_a_dead_letter_is_replayed_from_the_console_once_its_cause_is_gone(console: Console) -> None:
    """A token revoked at the auth service while the gateway cannot record revocations: the event is
    dead-lettered after its deliveries; once the cause is gone, Replay applies it and the gateway refuses
    the token."""
    gateway = console.servers["gateway"].settings
    assert gateway is not None
    db = await asyncpg.connect(gateway.database_url)  # type: ignore[attr-defined]
    token = await console.token("bob", PASSWORD, scope="openid programmes:read")
    admin = {"Authorization": "Bearer " + await console.token(*console.admin(), scope="openid admin")}
    try:
        await db.execute(REFUSE)
        async with AsyncOAuth2Client("spica-frontend", None, token_endpoint_auth_method="none") as client:
            revoked = await client.revoke_token(console.url + "/oauth/revoke", token=token)
        assert revoked.status_code == 200, revoked.text

        async def dead() -> int | None:
            async with httpx.AsyncClient(base_url=console.url, timeout=60, headers=admin) as api:
                answer = await api.get("/auth/admin/dead-letters", params={"replayed": "false"})
            assert answer.status_code == 200, answer.text
            items = [i for i in answer.json()["items"] if i["consumer"] == "gateway_revocations"]
            return int(items[0]["id"]) if items else None

        letter: int = await eventually(dead, timeout=180, interval=1.0)  # ten deliveries, with backoff
    finally:
        await db.execute(ALLOW)
        await db.close()
    browser = await console.session(*console.admin())
    try:
        listing = await browser.get("/console/admin/dead-letters?service=gateway")
        assert f'<tr id="letter-gateway-{letter}">' in listing.text
        assert "revocations refused for the test" in listing.text
        sent = await browser.post(
            f"/console/admin/dead-letters/gateway/{letter}/replay", headers={"X-CSRF-Token": _csrf(browser)}
        )
        assert sent.status_code == 303, sent.text
        shown = await browser.get(sent.headers["location"])
        assert f"Dead letter {letter} of gateway: replayed." in shown.text
    finally:
        await browser.aclose()
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        refused = await api.get("/programmes", headers={"Authorization": "Bearer " + token})
    assert refused.status_code == 401, refused.text
    assert "revoked" in refused.json()["detail"]


@needs_chromium
async def test_an_admin_replays_a_dead_letter_in_the_browser(
    console: Console, letter: int, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, "/console/admin/health")
    try:
        await page.get_by_role("heading", name="Platform health", level=1).wait_for()
        await page.screenshot(path=str(tmp_path / "admin-health.png"), full_page=True)
        await page.get_by_role("link", name="Dead letters").first.click()
        await page.get_by_role("heading", name="Dead letters", level=1).wait_for()
        await page.screenshot(path=str(tmp_path / "admin-dead-letters.png"), full_page=True)
        await page.get_by_role("button", name=f"Replay dead letter {letter} of obsportal").click()
        result = page.locator("[data-result]")
        await result.wait_for()
        assert f"Dead letter {letter} of obsportal:" in await result.inner_text()
        await page.screenshot(path=str(tmp_path / "admin-dead-letter-replayed.png"), full_page=True)
        # a phone's width: the pages reflow (a wide table scrolls in its own region, the page does not)
        await page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/console/admin/health", "/console/admin/dead-letters", "/"):
            await page.goto(console.url + path)
            assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
        await page.screenshot(path=str(tmp_path / "home-phone.png"), full_page=True)
    finally:
        await context.close()


async def test_the_home_pages_health_is_shared_for_a_few_seconds(console: Console) -> None:
    """The home page's panel reuses one report for HOME_HEALTH_SECONDS (every admin's home would ask
    nine services otherwise); the health page itself asks afresh each time."""
    token = await console.token(*console.admin(), scope="openid admin")
    admin = Caller(Principal("admin", "spica-frontend", frozenset({"admin"})), token)
    api = Api(WebSettings(public_url=console.url))
    try:
        operations = OperationsConsole(ApiSession(api, admin, 50))
        first = await operations.recent_health(now=1000.0)
        again = await operations.recent_health(now=1000.0 + HOME_HEALTH_SECONDS - 0.1)
        later = await operations.recent_health(now=1000.0 + HOME_HEALTH_SECONDS)
        live = [await operations.health(), await operations.health()]
    finally:
        await api.close()
    assert again is first
    assert later is not first
    assert "programmes" not in later.down
    assert live[0] is not live[1]


async def test_a_stopped_service_shows_down(console: Console) -> None:
    """Last of the module: it stops oidb for good."""
    await console.servers["oidb"].stop()
    browser = await console.session(*console.admin())
    try:
        health = await browser.get("/console/admin/health")
        letters = await browser.get("/console/admin/dead-letters")
    finally:
        await browser.aclose()
    assert health.status_code == 200, health.text
    assert '<h2 id="service-oidb-title">oidb <span class="state state-down">down</span></h2>' in health.text
    assert letters.status_code == 200, letters.text
    assert "The service did not answer" in letters.text
