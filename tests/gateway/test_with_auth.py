"""The gateway with the real auth service behind it (one origin: discovery, token, login page and admin
API are reached through the gateway), driven by authlib's own OAuth client and a browser-like httpx
client: robots with client_credentials, the browser session (code + PKCE by the gateway, cookie, CSRF,
refresh, logout), and revocation published by the auth service itself."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from gateway_platform import GATEWAY_CLIENT, Platform, open_platform, sign_in
from gateway_stack import Stack
from gateway_support import assert_problem, header_map
from harness import eventually
from spicadb_gateway.sessions import csrf_token

from spicadb_kit.infra import free_port


@pytest.fixture(scope="module")
async def platform(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    # a narrower browser session than the default (admin, one read scope), for the tests below
    async with open_platform(
        stack, tmp_path_factory.mktemp("auth-data"), oauth_scope="openid offline_access admin oifits:read"
    ) as platform:
        yield platform


# --- robots ------------------------------------------------------------------------------------


async def test_a_robot_gets_a_token_through_the_gateway_and_pushes_a_file(platform: Platform) -> None:
    token = await platform.robot_token("drs")
    assert set(token["scope"].split()) == {"oifits:push", "oifits:read"}
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    async with platform.browser() as http:
        pushed = await http.post("/echo/upload", content=b"SIMPLE  = T" * 1000, headers=bearer)
        listed = await http.get("/echo/files", headers=bearer)
        forbidden = await http.get("/pings/anything", headers=bearer)
        discovery = await http.get("/.well-known/openid-configuration")
    assert pushed.status_code == 200
    assert pushed.json()["size"] == 11000
    assert header_map(pushed.json())["x-auth-request-client"] == ["drs"]
    assert listed.status_code == 200
    assert_problem(forbidden, 403, "insufficient-scope")  # the DRS may not read pings
    assert discovery.json()["issuer"] == platform.url  # auth, through the gateway


async def test_a_token_revoked_at_the_auth_service_is_refused_by_the_gateway(platform: Platform) -> None:
    token = await platform.robot_token("drs")
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    creds = platform.credentials()["clients"]["drs"]
    async with platform.browser() as http:
        assert (await http.get("/echo/before", headers=bearer)).status_code == 200
        async with platform.oauth(creds["client_id"], creds["client_secret"]) as client:
            revoked = await client.revoke_token(platform.url + "/oauth/revoke", token=token["access_token"])
        assert revoked.status_code == 200

        async def refused() -> httpx.Response | None:
            response = await http.get("/echo/after", headers=bearer)
            return response if response.status_code == 401 else None

        response = await eventually(refused, timeout=15)
    assert "revoked" in assert_problem(response, 401, "invalid-token")["detail"]


# --- browser sessions ----------------------------------------------------------------------------


async def test_login_starts_a_pkce_flow_and_never_redirects_elsewhere(platform: Platform) -> None:
    async with platform.browser() as browser:
        response = await browser.get("/auth/login?next=https://evil.test/steal")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == platform.url + "/oauth/authorize"
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert query["client_id"] == GATEWAY_CLIENT
    assert query["redirect_uri"] == platform.url + "/auth/callback"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    row = await platform.stack.pool.fetchrow(
        "SELECT next_path FROM login_state WHERE state = $1", query["state"]
    )
    assert row is not None
    assert row["next_path"] == "/"


async def test_callback_with_an_unknown_state_or_an_error_is_refused(platform: Platform) -> None:
    async with platform.browser() as browser:
        unknown = await browser.get("/auth/callback?code=abc&state=never-issued")
        start = await browser.get("/auth/login")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        denied = await browser.get(f"/auth/callback?error=access_denied&state={state}")
        replayed = await browser.get(f"/auth/callback?code=abc&state={state}")  # a state is used once
    assert_problem(unknown, 400, "login-state")
    assert_problem(denied, 401, "login-refused")
    assert_problem(replayed, 400, "login-state")


async def test_a_callback_link_from_someone_elses_login_does_not_sign_this_browser_in(
    platform: Platform,
) -> None:
    admin = platform.credentials()["users"]["admin"]
    async with platform.browser() as attacker:
        start = await attacker.get("/auth/login")
        answer = await sign_in(attacker, start.headers["location"], admin["username"], admin["password"])
    callback = answer.headers["location"]  # sent to the victim instead of being followed
    async with platform.browser() as victim:
        response = await victim.get(callback)
        assert "spicadb_gateway" not in victim.cookies
    assert_problem(response, 400, "login-state")


async def test_a_browser_session_with_cookie_and_csrf(platform: Platform) -> None:
    ping = uuid.uuid4().hex
    async with platform.browser() as browser:
        done = await platform.browser_session(browser, next_path="/echo/landing")
        assert done.headers["location"] == "/echo/landing"
        cookies = {c.split("=", 1)[0]: c for c in done.headers.get_list("set-cookie")}
        session_cookie = cookies["spicadb_gateway"].lower()
        assert "httponly" in session_cookie
        assert "samesite=lax" in session_cookie
        assert "path=/" in session_cookie
        assert "secure" not in session_cookie  # the test environment is plain http
        assert "httponly" not in cookies["spicadb_gateway_csrf"].lower()  # the frontend reads it
        session_id = browser.cookies["spicadb_gateway"]
        csrf = browser.cookies["spicadb_gateway_csrf"]
        assert csrf == csrf_token(session_id)

        landing = await browser.get("/echo/landing")
        page = await browser.get("/auth")
        no_csrf = await browser.post("/pings", json={"id": ping})
        wrong_csrf = await browser.post("/pings", json={"id": ping}, headers={"X-CSRF-Token": "forged"})
        created = await browser.post("/pings", json={"id": ping}, headers={"X-CSRF-Token": csrf})
        read = await browser.get(f"/pings/{ping}")
    assert landing.status_code == 200
    upstream = header_map(landing.json())
    assert upstream["authorization"][0].startswith("Bearer ")  # the session's token, for the service
    assert upstream["x-auth-request-user"] == ["admin"]
    assert "spicadb_gateway" not in "".join(upstream.get("cookie", []))  # the session id stays here
    assert "Signed in as <strong>admin</strong>" in page.text
    assert_problem(no_csrf, 403, "csrf")
    assert_problem(wrong_csrf, 403, "csrf")
    assert created.status_code == 201, created.text  # the probe verified the session's token itself
    assert read.status_code == 200
    assert read.json()["id"] == ping


async def test_a_copy_of_the_session_table_lets_no_one_in(platform: Platform) -> None:
    """The cookie's id is stored as its sha256, the tokens sealed under the gateway's session key: none
    of what the table holds is a credential."""
    from spicadb_gateway.sessions import hash_session_id

    async with platform.browser() as browser:
        await platform.browser_session(browser)
        session_id = browser.cookies["spicadb_gateway"]
        landing = await browser.get("/echo/landing")
    token = header_map(landing.json())["authorization"][0].removeprefix("Bearer ")
    row = await platform.stack.pool.fetchrow(
        "SELECT s::text AS copy, access_token, refresh_token FROM session s WHERE id_hash = $1",
        hash_session_id(session_id),
    )
    copy = row["copy"]
    assert row["refresh_token"] is not None
    for secret in (token, session_id):
        assert secret not in copy
        assert secret.encode().hex() not in copy
    assert token.encode() not in row["access_token"]


async def test_the_gateway_as_a_confidential_client(platform: Platform) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin = await platform.admin_token()
    async with platform.browser() as http:
        created = await http.post(
            "/admin/clients",
            headers={"Authorization": f"Bearer {admin}"},
            json={
                "client_id": "spica-gateway-private",
                "scopes": ["openid", "offline_access", "oifits:read"],
                "grant_types": ["authorization_code", "refresh_token"],
                "redirect_uris": [base + "/auth/callback"],
            },
        )
    assert created.status_code == 201, created.text
    gateway = await platform.start_gateway(
        port,
        public_url=base,
        oauth_client_id="spica-gateway-private",
        oauth_client_secret=created.json()["client_secret"],
        oauth_scope="openid offline_access oifits:read",
    )
    async with platform.browser(gateway.url) as browser:
        done = await platform.browser_session(browser, next_path="/echo/private", gateway_url=gateway.url)
        assert done.headers["location"] == "/echo/private"
        landing = await browser.get("/echo/private")
    assert landing.status_code == 200
    assert header_map(landing.json())["x-auth-request-client"] == ["spica-gateway-private"]
    assert header_map(landing.json())["x-auth-request-scopes"] == ["offline_access oifits:read openid"]


async def test_a_session_token_is_refreshed_once_however_many_requests_need_it(platform: Platform) -> None:
    async with platform.browser() as browser:
        await platform.browser_session(browser)
        session_id = browser.cookies["spicadb_gateway"]
        from spicadb_gateway.sessions import hash_session_id

        id_hash = hash_session_id(session_id)
        before = await platform.stack.pool.fetchval(
            "SELECT access_token FROM session WHERE id_hash = $1", id_hash
        )
        # the access token is about to expire; two replicas that have not seen this session yet
        await platform.stack.pool.execute(
            "UPDATE session SET access_expires_at = now() + interval '5 seconds' WHERE id_hash = $1", id_hash
        )
        replicas = [await platform.start_gateway(), await platform.start_gateway()]
        cookies = {"spicadb_gateway": session_id}
        clients = [platform.browser(r.url, cookies=cookies) for r in replicas]
        try:
            answers = await asyncio.gather(*(c.get(f"/echo/refresh/{i}") for i in range(10) for c in clients))
            later = await clients[0].get("/echo/later")
        finally:
            for c in clients:
                await c.aclose()
    assert [a.status_code for a in answers] == [200] * 20
    refreshes = [r.app.state.gateway.authn.sessions.refreshes for r in replicas]
    assert sum(refreshes) == 1, refreshes
    after = await platform.stack.pool.fetchrow(
        "SELECT access_token, refresh_token, access_expires_at FROM session WHERE id_hash = $1", id_hash
    )
    assert after["access_token"] != before
    assert after["access_expires_at"].timestamp() > time.time() + 300
    # the rotated refresh token was kept: the family is intact, the session still works
    assert later.status_code == 200


async def test_logout_ends_the_session(platform: Platform) -> None:
    async with platform.browser() as browser:
        await platform.browser_session(browser)
        session_id = browser.cookies["spicadb_gateway"]
        assert (await browser.get("/echo/in")).status_code == 200
        out = await browser.get("/auth/logout?next=/auth")
        assert out.status_code == 303
        # on to the auth service's end of its own login session, which sends the browser to next
        end = (
            platform.url
            + "/oauth/logout?"
            + urlencode({"client_id": "spica-gateway", "post_logout_redirect_uri": platform.url + "/auth"})
        )
        assert out.headers["location"] == end
        assert "max-age=0" in " ".join(out.headers.get_list("set-cookie")).lower()
        ended = await browser.get(out.headers["location"])
        assert ended.status_code == 303
        assert ended.headers["location"] == "/auth"
    async with platform.browser(cookies={"spicadb_gateway": session_id}) as stale:
        after = await stale.get("/echo/out")  # the old cookie, kept by someone
    assert_problem(after, 401, "invalid-session")
    from spicadb_gateway.sessions import hash_session_id

    assert (
        await platform.stack.pool.fetchval(
            "SELECT 1 FROM session WHERE id_hash = $1", hash_session_id(session_id)
        )
        is None
    )


async def test_ingress_answers_for_a_session_with_the_token_for_the_service(platform: Platform) -> None:
    async with platform.browser() as browser:
        await platform.browser_session(browser)
        session_id = browser.cookies["spicadb_gateway"]
        allowed = await browser.get(
            "/auth/ingress", headers={"X-Original-URL": platform.url + "/echo/x", "X-Original-Method": "GET"}
        )
        unsafe = await browser.get(
            "/auth/ingress", headers={"X-Original-URL": platform.url + "/echo/x", "X-Original-Method": "POST"}
        )
        with_csrf = await browser.get(
            "/auth/ingress",
            headers={
                "X-Original-URL": platform.url + "/echo/x",
                "X-Original-Method": "POST",
                "X-CSRF-Token": csrf_token(session_id),
            },
        )
    assert allowed.status_code == 200
    assert allowed.headers["x-auth-request-user"] == "admin"
    assert allowed.headers["authorization"] == "Bearer " + allowed.headers["x-auth-request-token"]
    assert_problem(unsafe, 403, "csrf")
    assert with_csrf.status_code == 200
