"""The administration pages: clients (a new secret shown once, rotation, disable and enable), users and
roles, the audit trail, through the auth service's admin API with the administrator's browser session
(which carries ``admin``); refused to anyone else (a 403 page, no link). The forms are sent as the
console's script sends them (X-CSRF-Token); refused values come back beside their fields."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client import OAuthError
from spicadb_auth.models import GRANT_TYPES
from spicadb_gateway.sessions import AsyncOAuth2Client
from spicadb_web.services.admin import GRANT_TYPES as CONSOLE_GRANT_TYPES
from web_browser import needs_chromium, sign_in_at
from web_console import PASSWORD, Console

READER = "bob"  # an astronomer: not an administrator
SECRET = re.compile(r'id="client-secret" class="secret-value" type="text" value="([^"]+)"')
GENERATED = re.compile(r'id="user-password" class="secret-value" type="text" value="([^"]+)"')


def _csrf(browser: httpx.AsyncClient) -> dict[str, str]:
    token = next(c.value for c in browser.cookies.jar if c.name.endswith("spicadb_gateway_csrf"))
    return {"X-CSRF-Token": token or ""}


@pytest.fixture(scope="module")
async def admin(console: Console) -> str:
    """The administrator's API token (to check what the pages did, from outside)."""
    return await console.token(*console.admin(), scope="openid admin")


@pytest.fixture
async def session(console: Console) -> Any:
    browser = await console.session(*console.admin())
    try:
        yield browser
    finally:
        await browser.aclose()


async def _api(console: Console, admin: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=console.url, timeout=60) as api:
        return await api.request(method, url, headers={"Authorization": "Bearer " + admin}, **kwargs)


async def _client_token(console: Console, client_id: str, secret: str) -> dict[str, Any]:
    async with AsyncOAuth2Client(client_id, secret, timeout=60) as client:
        return dict(await client.fetch_token(console.url + "/oauth/token", grant_type="client_credentials"))


async def _new_client(session: httpx.AsyncClient, client_id: str) -> str:
    form = {"client_id": client_id, "name": "A pipeline", "grant_types": ["client_credentials"],
            "scopes": ["oifits:read", "tap:query"]}  # fmt: skip
    created = await session.post("/console/admin/clients", data=form, headers=_csrf(session))
    assert created.status_code == 201, created.text
    found = SECRET.search(created.text)
    assert found, created.text
    return found[1]


def test_the_console_offers_the_grant_types_the_auth_service_registers() -> None:
    assert CONSOLE_GRANT_TYPES == GRANT_TYPES


async def test_someone_not_an_administrator_gets_a_403_page_and_no_link(console: Console, admin: str) -> None:
    browser = await console.session(READER, PASSWORD)
    try:
        home = await browser.get("/")
        pages = [await browser.get(p) for p in ("/console/admin", "/console/admin/clients",
                                                 "/console/admin/users/bob", "/console/admin/audit")]  # fmt: skip
        sent = await browser.post(
            "/console/admin/clients",
            data={"client_id": "bobs-robot", "scopes": ["admin"], "grant_types": ["client_credentials"]},
            headers=_csrf(browser),
        )
        roles = await browser.post(
            "/console/admin/users/bob/roles", data={"roles": ["admin"]}, headers=_csrf(browser)
        )
    finally:
        await browser.aclose()
    assert home.status_code == 200
    assert "/console/admin" not in home.text
    for answer in [*pages, sent, roles]:
        assert answer.status_code == 403, answer.text
        assert "Administrators only" in answer.text
        assert answer.headers["cache-control"] == "no-store"
    assert (await _api(console, admin, "GET", "/admin/clients/bobs-robot")).status_code == 404
    assert (await _api(console, admin, "GET", "/admin/users/bob")).json()["roles"] == ["astronomer"]


async def test_an_administrators_session_has_the_link_and_the_index(session: httpx.AsyncClient) -> None:
    home = await session.get("/")
    index = await session.get("/console/admin")
    assert home.status_code == 200
    assert '<a href="/console/admin">Admin</a>' in home.text
    assert index.status_code == 200, index.text
    for link in ("/console/admin/clients", "/console/admin/users", "/console/admin/audit",
                 "/console/admin/health", "/console/admin/dead-letters"):  # fmt: skip
        assert f'href="{link}"' in index.text
    assert 'aria-current="page">Admin</a>' in index.text


async def test_a_new_clients_secret_is_shown_once(
    console: Console,
    session: httpx.AsyncClient,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    form = {"client_id": "pipeline-1", "name": "Reduction pipeline", "grant_types": ["client_credentials"],
            "scopes": ["oifits:read", "tap:query"]}  # fmt: skip
    created = await session.post("/console/admin/clients", data=form, headers=_csrf(session))
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    text = html.unescape(created.text)
    assert "Copy it now: it will not be shown again." in text
    found = SECRET.search(created.text)
    assert found
    secret = found[1]
    assert len(secret) >= 40
    assert created.text.count(secret) == 1
    # the secret works
    token = await _client_token(console, "pipeline-1", secret)
    assert set(token["scope"].split()) == {"oifits:read", "tap:query"}
    # and no later page shows it: the address the browser keeps (the list), the client's page, the audit
    for later in ("/console/admin/clients", "/console/admin/clients/pipeline-1", "/console/admin/audit"):
        again = await session.get(later)
        assert again.status_code == 200, again.text
        assert secret not in again.text
        assert "Copy it now" not in again.text
    listing = await session.get("/console/admin/clients")
    assert '<a href="/console/admin/clients/pipeline-1">pipeline-1</a>' in listing.text
    # nor any log of the platform's services (they run in this process)
    printed = capsys.readouterr()
    assert "pipeline-1" in caplog.text + printed.err + printed.out  # the logs were captured
    assert secret not in caplog.text + printed.err + printed.out


async def test_rotating_a_secret_shows_the_new_one_once_and_the_old_one_stops(
    console: Console, session: httpx.AsyncClient
) -> None:
    old = await _new_client(session, "pipeline-2")
    rotated = await session.post("/console/admin/clients/pipeline-2/secret", headers=_csrf(session))
    assert rotated.status_code == 200, rotated.text
    found = SECRET.search(rotated.text)
    assert found
    new = found[1]
    assert new != old
    assert "Copy it now: it will not be shown again." in html.unescape(rotated.text)
    with pytest.raises(OAuthError) as refused:
        await _client_token(console, "pipeline-2", old)
    assert refused.value.error == "invalid_client"
    assert (await _client_token(console, "pipeline-2", new))["access_token"]
    # a reload of the answer's address: the client's page, without the secret
    reload = await session.get("/console/admin/clients/pipeline-2/secret")
    assert reload.status_code == 303
    assert reload.headers["location"] == "/console/admin/clients/pipeline-2"
    shown = await session.get(reload.headers["location"])
    assert new not in shown.text
    assert "Secret rotated" in shown.text


async def test_a_disabled_client_gets_no_token_until_enabled(
    console: Console, session: httpx.AsyncClient
) -> None:
    secret = await _new_client(session, "pipeline-3")
    disabled = await session.post("/console/admin/clients/pipeline-3/disable", headers=_csrf(session))
    assert disabled.status_code == 303, disabled.text
    assert disabled.headers["location"] == "/console/admin/clients/pipeline-3?saved=disabled"
    page = await session.get(disabled.headers["location"])
    assert "Client disabled." in page.text
    assert "Enable the client" in page.text
    assert "Rotate the secret" not in page.text
    with pytest.raises(OAuthError) as refused:
        await _client_token(console, "pipeline-3", secret)
    assert refused.value.error == "invalid_client"
    enabled = await session.post("/console/admin/clients/pipeline-3/enable", headers=_csrf(session))
    assert enabled.status_code == 303, enabled.text
    assert (await _client_token(console, "pipeline-3", secret))["access_token"]
    # the client people sign in through cannot be disabled: the API's 409, its title on the page
    protected = await session.post("/console/admin/clients/spica-gateway/disable", headers=_csrf(session))
    assert protected.status_code == 409, protected.text
    assert 'role="alert"' in protected.text
    assert "cannot be disabled" in html.unescape(protected.text)


async def test_a_created_user_signs_in_and_their_roles_change(
    console: Console, session: httpx.AsyncClient
) -> None:
    form = {"username": "carla", "name": "Carla Vega", "email": "carla@example.org", "roles": ["reader"],
            "password": "carla's long password"}  # fmt: skip
    created = await session.post("/console/admin/users", data=form, headers=_csrf(session))
    assert created.status_code == 201, created.text
    assert "Account carla created." in created.text
    assert "carla's long password" not in html.unescape(created.text)
    carla = await console.session("carla", "carla's long password")
    try:
        home = await carla.get("/")
        assert "Welcome, carla" in home.text
        assert "nightlogs:flag" not in home.text
    finally:
        await carla.aclose()

    roles = await session.post("/console/admin/users/carla/roles", data={"roles": ["operator", "reader"]},
                               headers=_csrf(session))  # fmt: skip
    assert roles.status_code == 303, roles.text
    assert roles.headers["location"] == "/console/admin/users/carla?saved=roles"
    page = await session.get(roles.headers["location"])
    assert "Roles saved: operator, reader." in page.text
    assert 'name="roles" value="operator" checked' in page.text
    carla = await console.session("carla", "carla's long password")
    try:
        assert "nightlogs:flag" in (await carla.get("/")).text  # her new session has the operator's scopes
    finally:
        await carla.aclose()


async def test_a_generated_password_is_shown_once_and_a_disabled_user_cannot_sign_in(
    console: Console, session: httpx.AsyncClient
) -> None:
    created = await session.post("/console/admin/users", data={"username": "dora", "roles": ["reader"]},
                                 headers=_csrf(session))  # fmt: skip
    assert created.status_code == 201, created.text
    found = GENERATED.search(created.text)
    assert found, created.text
    password = html.unescape(found[1])
    assert password not in (await session.get("/console/admin/users/dora")).text
    disabled = await session.post("/console/admin/users/dora/disable", headers=_csrf(session))
    assert disabled.status_code == 303
    assert "Account disabled." in (await session.get(disabled.headers["location"])).text
    with pytest.raises(AssertionError):  # the login page refuses her (no redirect)
        await console.session("dora", password)
    enabled = await session.post("/console/admin/users/dora/enable", headers=_csrf(session))
    assert enabled.status_code == 303
    dora = await console.session("dora", password)
    await dora.aclose()


async def test_the_audit_log_shows_the_actions_in_keyset_pages(
    console: Console, admin: str, session: httpx.AsyncClient
) -> None:
    await _new_client(session, "pipeline-4")
    await session.post("/console/admin/clients/pipeline-4/secret", headers=_csrf(session))
    await session.post("/console/admin/clients/pipeline-4/disable", headers=_csrf(session))
    about = await session.get(
        "/console/admin/audit", params={"target_type": "client", "target_id": "pipeline-4"}
    )
    assert about.status_code == 200, about.text
    actions = re.findall(r'<th scope="row">([a-z_.]+)</th>', about.text)
    assert actions == ["client.disable", "client.rotate_secret", "client.create"]
    assert "<code>disabled</code>: false → true" in html.unescape(about.text)
    # more changes than a page (50): the next page follows on, none twice
    await _api(console, admin, "POST", "/admin/users", json={"username": "eve", "roles": ["reader"]})
    for k in range(55):
        await _api(
            console,
            admin,
            "PUT",
            "/admin/users/eve/roles",
            json={"roles": ["reader" if k % 2 else "operator"]},
        )
    first = await session.get("/console/admin/audit", params={"target_type": "user", "target_id": "eve"})
    more = re.search(r'href="(/console/admin/audit\?[^"]*cursor=[^"]+)">Older changes', first.text)
    assert more, first.text
    second = await session.get(html.unescape(more[1]))
    assert second.status_code == 200, second.text
    rows = [re.findall(r'<th scope="row">([a-z_.]+)</th>', p.text) for p in (first, second)]
    assert [len(r) for r in rows] == [50, 6]
    assert rows[1][-1] == "user.create"
    assert "Older changes" not in second.text


async def test_bad_input_answers_a_4xx_page_with_the_fields(session: httpx.AsyncClient) -> None:
    form = {"client_id": "Not A Valid Id", "name": "kept name", "grant_types": ["authorization_code"],
            "scopes": ["oifits:read"], "redirect_uris": "http://example.org/callback"}  # fmt: skip
    refused = await session.post("/console/admin/clients", data=form, headers=_csrf(session))
    assert refused.status_code == 422, refused.text
    text = html.unescape(refused.text)
    assert 'role="alert" id="new-client-result"' in text
    assert 'aria-invalid="true" aria-describedby="client-id-error"' in text
    assert '<span class="field-error" id="client-id-error">lower-case letters' in text
    assert '<span class="field-error" id="client-redirects-error">http is only allowed on a loopback' in text
    assert 'value="kept name"' in text  # what was typed is kept
    assert ">http://example.org/callback</textarea>" in text

    short = await session.post("/console/admin/users", data={"username": "fay", "password": "short"},
                               headers=_csrf(session))  # fmt: skip
    assert short.status_code == 422, short.text
    assert '<span class="field-error" id="user-password-error">at least 12 characters</span>' in short.text
    assert 'value="short"' not in short.text  # a password is never written back into a page

    roles = await session.post("/console/admin/users/bob/roles", data={"roles": ["emperor"]},
                               headers=_csrf(session))  # fmt: skip
    assert roles.status_code == 422, roles.text
    assert '<span class="field-error" id="user-roles-error">unknown role(s): emperor</span>' in roles.text

    for url, status in (
        ("/console/admin/users/nobody", 404),
        ("/console/admin/clients/nobody", 404),
        ("/console/admin/audit?cursor=not-a-cursor", 400),
        ("/console/admin/audit?target_type=" + "x" * 21, 400),
        ("/console/admin/audit?target_id=" + "x" * 201, 400),
        ("/console/admin/clients/x?saved=" + "x" * 21, 400),
        ("/console/admin/users/" + "x" * 300, 404),
        ("/console/admin/audit?target_id=a%00b", 400),
    ):
        answer = await session.get(url, headers={"Accept": "text/html"})
        assert answer.status_code == status, (url, answer.text)
        assert answer.headers["content-type"].startswith("text/html"), url
    # a NUL in the path: refused before the console (the gateway's problem document)
    assert (await session.get("/console/admin/clients/a%00b")).status_code == 400
    missing = await session.post("/console/admin/users/nobody/disable", headers=_csrf(session))
    assert missing.status_code == 404, missing.text


async def test_a_form_without_the_csrf_header_changes_nothing(
    console: Console, admin: str, session: httpx.AsyncClient
) -> None:
    sent = await session.post("/console/admin/users", data={"username": "mallory", "roles": ["admin"]})
    assert sent.status_code == 403, sent.text
    assert "Nothing was saved" in sent.text
    assert (await _api(console, admin, "GET", "/admin/users/mallory")).status_code == 404


@needs_chromium
async def test_an_administrator_in_a_browser(console: Console, browser: Any, tmp_path: Path) -> None:
    """Create a client (its secret shown once), a user, set the user's roles, read the audit log."""
    context, page = await sign_in_at(console, browser, "/console/admin")
    try:
        await page.screenshot(path=tmp_path / "admin.png", full_page=True)
        await page.get_by_role("link", name="Clients").click()
        await page.get_by_label("Client id").fill("browser-robot")
        await page.get_by_label("Name", exact=True).fill("A robot made in a browser")
        await page.get_by_label("oifits:read").check()
        await page.get_by_role("button", name="Register the client").click()
        secret = page.get_by_label("Client secret of browser-robot")
        await secret.wait_for()
        assert len(await secret.input_value()) >= 40
        assert await page.evaluate("document.activeElement.id") == "client-secret-result"
        assert (
            "Copy it now: it will not be shown again."
            in await page.locator("#client-secret-result").inner_text()
        )
        await page.screenshot(path=tmp_path / "client-created.png", full_page=True)
        await page.reload()  # the secret is not shown again
        assert await page.get_by_label("Client secret of browser-robot").count() == 0
        await page.screenshot(path=tmp_path / "clients.png", full_page=True)

        await page.goto(console.url + "/console/admin/users")
        await page.get_by_label("User name").fill("browser-user")
        await page.get_by_label("Password (12").fill("a browser user's password")
        await page.get_by_role("checkbox", name="reader").check()
        await page.get_by_role("button", name="Create the account").click()
        await page.get_by_role("status").filter(has_text="Account browser-user created.").wait_for()
        await page.screenshot(path=tmp_path / "user-created.png", full_page=True)
        await page.get_by_role("checkbox", name="operator").check()
        await page.get_by_role("button", name="Save the roles").click()
        await page.get_by_role("status").filter(has_text="Roles saved: operator, reader.").wait_for()
        await page.screenshot(path=tmp_path / "user-roles.png", full_page=True)
        # a refused value beside its field
        await page.get_by_role("checkbox", name="admin").check()
        await page.evaluate("document.querySelector('input[name=roles][value=admin]').value = 'emperor'")
        await page.get_by_role("button", name="Save the roles").click()
        await page.get_by_role("alert").wait_for()
        assert "unknown role(s): emperor" in await page.locator("#user-roles-error").inner_text()
        await page.screenshot(path=tmp_path / "user-roles-refused.png", full_page=True)

        await page.get_by_role("link", name="Its changes in the audit log").click()
        await page.wait_for_url("**/console/admin/audit?**")
        actions = await page.locator("table.audit tbody th").all_inner_texts()
        assert actions == ["user.set_roles", "user.create"]
        await page.screenshot(path=tmp_path / "audit.png", full_page=True)
        # a phone's width: no sideways scroll
        await page.set_viewport_size({"width": 390, "height": 844})
        for path in ("/console/admin/clients", "/console/admin/users/browser-user", "/console/admin/audit"):
            await page.goto(console.url + path)
            assert await page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0, path
        await page.screenshot(path=tmp_path / "phone-audit.png", full_page=True)
    finally:
        await context.close()
