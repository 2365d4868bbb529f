"""The browser session's scopes with the gateway's default settings (no SPICADB_OAUTH_SCOPE): the auth
service grants what was asked, what the gateway's client may have and what the person's roles give, so
an administrator's session carries ``admin`` (the web console's admin pages need it) and anyone else's
session works with the scopes of their roles, without ``admin`` and without a refusal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from gateway_platform import Platform, open_platform, sign_in
from gateway_stack import Stack
from gateway_support import header_map


@pytest.fixture(scope="module")
async def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    async with open_platform(stack, tmp_path_factory.mktemp("auth-data")) as platform:  # default scope
        yield platform


async def _session_scopes(platform: Platform, username: str, password: str) -> set[str]:
    """A person signs in through the gateway's /auth/login; the scopes the session's token carries."""
    async with platform.browser() as browser:
        start = await browser.get("/auth/login?next=/echo/me")
        answer = await sign_in(browser, start.headers["location"], username, password)
        done = await browser.get(answer.headers["location"])
        assert done.status_code == 302, done.text
        assert done.headers["location"] == "/echo/me"
        landing = await browser.get("/echo/me")
    assert landing.status_code == 200, landing.text
    return set(header_map(landing.json())["x-auth-request-scopes"][0].split())


async def test_an_administrators_browser_session_carries_admin(platform: Platform) -> None:
    admin = platform.credentials()["users"]["admin"]
    scopes = await _session_scopes(platform, admin["username"], admin["password"])
    assert "admin" in scopes
    assert {"programmes:read", "oifits:read", "openid"} <= scopes


async def test_a_readers_browser_session_works_without_admin(platform: Platform) -> None:
    bearer = {"Authorization": f"Bearer {await platform.admin_token()}"}
    async with httpx.AsyncClient(base_url=platform.url, timeout=30) as http:
        created = await http.post(
            "/admin/users",
            headers=bearer,
            json={"username": "reader-session", "roles": ["reader"], "password": "a reader's long pass"},
        )
    assert created.status_code == 201, created.text
    scopes = await _session_scopes(platform, "reader-session", "a reader's long pass")
    assert "admin" not in scopes
    assert scopes >= {"programmes:read", "nightlogs:read", "oifits:read", "tap:query", "openid"}
    assert not scopes & {"programmes:write", "nightlogs:flag", "oifits:push", "token:introspect"}
