"""The login page: throttling of failed attempts, disabled accounts, the standalone page and
its redirect (never off this origin)."""

from __future__ import annotations

import httpx
from auth_support import AuthService, Browser, LoginForm
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from test_code_flow import authorize_path


def code_flow_path() -> str:
    return authorize_path(
        code_challenge=create_s256_code_challenge(generate_token(48)), code_challenge_method="S256"
    )


async def attempt(browser: Browser, username: str, password: str) -> httpx.Response:
    form = LoginForm(await browser.http.get(code_flow_path()))
    return await browser.http.post(form.action, data=form.fields(username, password))


async def test_the_sixth_attempt_is_throttled_even_with_the_right_password(auth: AuthService) -> None:
    async with auth.running() as browser:
        for _ in range(5):
            wrong = await attempt(browser, "admin", "guess")
            assert wrong.status_code == 401

        sixth = await attempt(browser, "admin", browser.admin_password())
        assert sixth.status_code == 429
        retry_after = int(sixth.headers["retry-after"])
        assert 800 < retry_after <= 900
        assert "location" not in sixth.headers
        assert "Too many failed sign-in attempts" in sixth.text


async def test_throttling_counts_per_user_name_and_per_client_address(auth: AuthService) -> None:
    async with auth.running(login_max_failures_per_address=3) as browser:
        admin = await browser.admin_token()
        created = await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "rigel", "roles": ["reader"], "password": "rigel password 1"},
        )
        assert created.status_code == 201
        browser.http.cookies.clear()
        for name in ("a", "b", "c"):  # three different names from one address
            assert (await attempt(browser, name, "guess")).status_code == 401
        blocked = await attempt(browser, "rigel", "rigel password 1")
        assert blocked.status_code == 429


async def test_a_successful_sign_in_clears_the_user_names_failures(auth: AuthService) -> None:
    async with auth.running() as browser:
        for _ in range(4):
            await attempt(browser, "admin", "guess")
        assert (await attempt(browser, "admin", browser.admin_password())).status_code == 302
        browser.http.cookies.clear()
        for _ in range(4):
            assert (await attempt(browser, "admin", "guess")).status_code == 401


async def test_a_disabled_account_cannot_sign_in_or_refresh(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "deneb", "roles": ["astronomer"], "password": "deneb password 1"},
        )
        tokens = await browser.sign_in_with_code("deneb", "deneb password 1")
        assert (await browser.admin("POST", "/admin/users/deneb/disable", admin)).status_code == 200

        browser.http.cookies.clear()
        refused = await attempt(browser, "deneb", "deneb password 1")
        assert refused.status_code == 403
        assert "disabled" in refused.text

        again = await browser.http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": "spica-frontend",
            },
        )
        assert again.json()["error"] == "invalid_grant"
        info = await browser.http.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert info.status_code == 401


async def test_the_standalone_login_page_redirects_only_to_local_paths(auth: AuthService) -> None:
    async with auth.running() as browser:
        for target, expected in (
            ("/oauth/authorize?client_id=x", "/oauth/authorize?client_id=x"),
            ("https://evil.example/", "/login"),
            ("//evil.example/", "/login"),
            ("/\\evil.example", "/login"),
        ):
            browser.http.cookies.clear()
            form = LoginForm(await browser.http.get("/login", params={"next": target}))
            answer = await browser.http.post(form.action, data=form.fields("admin", browser.admin_password()))
            assert answer.status_code == 303, answer.text
            assert answer.headers["location"] == expected

        page = await browser.http.get("/login")
        assert "signed in as <strong>admin</strong>" in page.text

        form = LoginForm(page)
        out = await browser.http.post("/login/logout", data={"csrf_token": form.csrf})
        assert out.status_code == 303
        assert "signed in as" not in (await browser.http.get("/login")).text
