"""The session store and CSRF rules with sessions written directly (no auth service): what the cookie
opens, and when it stops opening anything. The whole flow with the auth service is test_with_auth.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from gateway_stack import SESSION_KEY, Stack
from gateway_support import ECHO_SPEC, assert_problem, header_map
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.sessions import SessionStore, TokenSealer, csrf_token, hash_session_id

from spicadb_kit.redirects import safe_next
from spicadb_kit.settings import SettingsError


async def new_session(
    stack: Stack,
    *scopes: str,
    access_in: int = 600,
    ends_in: int = 3600,
    refresh: str | None = None,
    key: str = SESSION_KEY,
) -> str:
    session_id = f"test-{datetime.now(UTC).timestamp()}"
    token = stack.tokens.mint(*scopes, subject="dora", client_id="spica-gateway", lifetime=access_in)
    await SessionStore(stack.pool, TokenSealer(key)).create(
        hash_session_id(session_id),
        subject="dora",
        client_id="spica-gateway",
        scope=" ".join(scopes),
        access_token=token,
        refresh_token=refresh,
        access_expires_at=datetime.now(UTC) + timedelta(seconds=access_in),
        expires_at=datetime.now(UTC) + timedelta(seconds=ends_in),
    )
    return session_id


async def test_the_session_cookie_authenticates_and_csrf_guards_unsafe_methods(stack: Stack) -> None:
    session_id = await new_session(stack, "probe:read", "probe:write")
    csrf = csrf_token(session_id)
    cookies = {"spicadb_gateway": session_id, "spicadb_gateway_csrf": csrf}
    async with stack.client(cookies=cookies) as browser:
        read = await browser.get("/echo/mine")
        post_without = await browser.post("/echo/upload", content=b"x")
        post_with = await browser.post("/echo/upload", content=b"x", headers={"X-CSRF-Token": csrf})
    async with stack.client(
        cookies={"spicadb_gateway": session_id, "spicadb_gateway_csrf": "planted"}
    ) as browser:
        planted = await browser.post("/echo/upload", content=b"x", headers={"X-CSRF-Token": "planted"})
    async with stack.client() as robot:  # bearer tokens are not subject to CSRF
        bearer = await robot.post("/echo/upload", content=b"x", headers=stack.bearer("probe:write"))
    assert read.status_code == 200
    assert header_map(read.json())["x-auth-request-user"] == ["dora"]
    assert_problem(post_without, 403, "csrf")
    assert post_with.status_code == 200
    # a cookie set by a sibling site, echoed in the header, does not pass: the token is the session's
    assert_problem(planted, 403, "csrf")
    assert bearer.status_code == 200


async def test_ended_or_unrefreshable_sessions_open_nothing(stack: Stack) -> None:
    ended = await new_session(stack, "probe:read", ends_in=-1)
    stale = await new_session(stack, "probe:read", access_in=30)  # needs a refresh, has no refresh token
    responses = []
    for session_id in ("no-such-session", ended, stale):
        async with stack.client(cookies={"spicadb_gateway": session_id}) as client:
            responses.append(await client.get("/echo/x"))
    for response in responses:
        assert_problem(response, 401, "invalid-session")
    assert (
        await stack.pool.fetchval("SELECT 1 FROM session WHERE id_hash = $1", hash_session_id(stale)) is None
    )


def test_next_paths_stay_on_this_site() -> None:
    assert safe_next("/programmes/P1?tab=targets") == "/programmes/P1?tab=targets"
    for outside in ("https://evil.test/", "//evil.test/x", "/\\evil.test", "javascript:alert(1)", "", None):
        assert safe_next(outside) == "/"
    # browsers drop tabs and newlines in Location (/\t/evil is //evil) and resolve dot segments: the
    # same rule as the auth service's login pages (spicadb_kit.redirects)
    for outside in (
        "/%09/evil.test",
        "/\t/evil.test",
        "/%0a/evil.test",
        "/.//evil.test",
        "/%2e%2e//evil.test",
    ):
        assert safe_next(outside) == "/", outside


async def test_a_session_sealed_under_another_key_opens_nothing(stack: Stack) -> None:
    """After the key changes (or with a copy of the table and no key), the stored tokens do not open."""
    session_id = await new_session(stack, "probe:read", key="another-session-key-0123456789abcdef")
    async with stack.client(cookies={"spicadb_gateway": session_id}) as browser:
        response = await browser.get("/echo/mine")
    assert_problem(response, 401, "invalid-session")


def test_production_needs_a_session_key(stack: Stack) -> None:
    with pytest.raises(SettingsError, match="SPICADB_SESSION_KEY"):
        create_gateway(stack.settings(environment="production", session_key=""), specs=[ECHO_SPEC])
    with pytest.raises(SettingsError, match="SPICADB_SESSION_KEY"):
        create_gateway(stack.settings(environment="production", session_key="short"), specs=[ECHO_SPEC])


def test_elsewhere_a_key_is_generated_once_into_the_data_folder(stack: Stack, tmp_path: Path) -> None:
    settings = stack.settings(environment="development", session_key="", data=str(tmp_path))
    first = TokenSealer.from_settings(settings)
    key_file = tmp_path / "gateway-session.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    sealed = first.seal(b"row", "token")
    assert TokenSealer.from_settings(settings).open(b"row", sealed) == "token"  # the same key, read back
