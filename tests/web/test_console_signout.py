"""Signing out of the console signs the browser out: the gateway's session ends and so does the auth
service's login session (OpenID Connect RP-initiated logout), so the next page asks for the password
again instead of signing the browser straight back in."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from gateway_platform import sign_in
from web_browser import needs_chromium, sign_in_at
from web_console import Console


async def _follow(client: httpx.AsyncClient, answer: httpx.Response, hops: int = 12) -> httpx.Response:
    """Follow redirects as a browser does, keeping every answer's cookies."""
    for _ in range(hops):
        if answer.status_code not in (301, 302, 303, 307, 308):
            return answer
        answer = await client.get(urljoin(str(answer.url), answer.headers["location"]))
    raise AssertionError("too many redirects")


async def test_after_signing_out_the_console_asks_to_sign_in_again(console: Console) -> None:
    browser = await console.session(*console.admin())
    try:
        home = await browser.get("/")
        assert home.status_code == 200
        out = await browser.post("/auth/logout?next=/")
        landed = await _follow(browser, out)
        # the login page (the auth service's form), not the console signed in again
        assert landed.status_code == 200, landed.text
        assert 'name="password"' in landed.text or "name=password" in landed.text, landed.text
        assert "Welcome," not in landed.text
        again = await _follow(browser, await browser.get("/console/programmes"))
        assert "Welcome," not in again.text
        assert "name=password" in again.text or 'name="password"' in again.text, again.text
    finally:
        await browser.aclose()


async def test_the_end_session_endpoint_sends_only_to_safe_places(console: Console) -> None:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
        metadata = (await client.get("/.well-known/openid-configuration")).json()
        end = metadata["end_session_endpoint"]
        assert end == console.url + "/oauth/logout"
        local = await client.get(end, params={"post_logout_redirect_uri": "/console/nights"})
        same_origin = await client.get(
            end, params={"client_id": "spica-gateway", "post_logout_redirect_uri": console.url + "/x?y=1"}
        )
        elsewhere = await client.get(end, params={"post_logout_redirect_uri": "https://evil.example/"})
        sneaky = await client.get(end, params={"post_logout_redirect_uri": "//evil.example/"})
        registered = await client.get(
            end,
            params={
                "client_id": "spica-frontend",
                "post_logout_redirect_uri": "http://127.0.0.1:5173/callback",
                "state": "s1",
            },
        )
        unregistered = await client.get(
            end,
            params={
                "client_id": "spica-gateway",
                "post_logout_redirect_uri": "http://127.0.0.1:5173/callback",
            },
        )
    assert [a.status_code for a in (local, same_origin, elsewhere, sneaky, registered, unregistered)] == [
        303
    ] * 6
    assert local.headers["location"] == "/console/nights"
    assert same_origin.headers["location"] == "/x?y=1"
    assert elsewhere.headers["location"] == "/login"
    assert sneaky.headers["location"] == "/login"
    assert registered.headers["location"] == "http://127.0.0.1:5173/callback?state=s1"
    assert unregistered.headers["location"] == "/login"


async def test_another_site_cannot_sign_the_browser_out_without_asking(console: Console) -> None:
    """A link on another site to the end-session endpoint shows a page asking first; its button (with
    the page's CSRF token) signs out."""
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as client:
        await sign_in(client, console.url + "/login", *console.admin())
        assert "You are signed in as" in (await client.get("/login")).text
        end = "/oauth/logout?" + "post_logout_redirect_uri=/console/nights"
        asked = await client.get(end, headers={"Sec-Fetch-Site": "cross-site"})
        assert asked.status_code == 200, asked.text
        assert "Sign out of SPICA-DB?" in asked.text
        assert "You are signed in as" in (await client.get("/login")).text  # not signed out by a link
        forged = await client.post(end, data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert "You are signed in as" in (await client.get("/login")).text
        # the button of the page last shown (each page, the login page too, sets its own form token)
        again = await client.get(end, headers={"Sec-Fetch-Site": "same-site"})
        csrf = re.search(r'name=csrf_token value="([^"]*)"', again.text)
        assert csrf
        confirmed = await client.post(
            unescape(re.search(r'action="([^"]*)"', again.text)[1]),  # type: ignore[index]
            data={"csrf_token": unescape(csrf[1])},
        )
        assert confirmed.status_code == 303, confirmed.text
        assert confirmed.headers["location"] == "/console/nights"
        assert "You are signed in as" not in (await client.get("/login")).text


@needs_chromium
async def test_signing_out_in_a_browser_shows_the_login_page_again(
    console: Console, browser: Any, tmp_path: Path
) -> None:
    context, page = await sign_in_at(console, browser, "/")
    try:
        assert await page.get_by_role("heading", level=1).inner_text() == "Welcome, admin"
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign out").click()
        await page.screenshot(path=tmp_path / "signed-out.png", full_page=True)
        assert await page.get_by_label("Password").count() == 1, page.url
        assert await page.get_by_role("heading", name="Welcome, admin").count() == 0
        # a page of the console asks for the password again too
        await page.goto(console.url + "/console/programmes")
        assert await page.get_by_label("Password").count() == 1, page.url
        # and signing in again brings the visitor back to that page
        username, password = console.admin()
        await page.get_by_label("User name").fill(username)
        await page.get_by_label("Password").fill(password)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(console.url + "/console/programmes")
    finally:
        await context.close()


@needs_chromium
async def test_signing_out_works_with_production_settings(production_console: Console, browser: Any) -> None:
    """``__Host-`` cookies (Secure, path /): both sessions end, the login page shows again."""
    context, page = await sign_in_at(production_console, browser, "/")
    try:
        async with page.expect_navigation():
            await page.get_by_role("button", name="Sign out").click()
        assert await page.get_by_label("Password").count() == 1, page.url
        names = {c["name"] for c in await context.cookies(production_console.url)}
    finally:
        await context.close()
    assert "__Host-spicadb_gateway" not in names
    assert "__Host-spicadb_session" not in names
