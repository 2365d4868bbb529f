"""People: the authorization code flow with PKCE (S256 only), driven by authlib's client
against the login page, and every way of getting it wrong refused."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from auth_support import FRONTEND, FRONTEND_REDIRECT, ISSUER, AuthService, Browser, LoginForm, query_of
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.jwk import KeySet

SCOPE = "openid profile offline_access programmes:read"


def authorize_path(**params: str) -> str:
    base = {
        "response_type": "code",
        "client_id": FRONTEND,
        "redirect_uri": FRONTEND_REDIRECT,
        "scope": SCOPE,
        "state": "s-1",
    }
    base.update(params)
    return "/oauth/authorize?" + urlencode({k: v for k, v in base.items() if v is not None})


async def code_for(browser: Browser, verifier: str, **params: str) -> str:
    """Log in on the page of an authorization request; the code the browser is sent back with."""
    path = authorize_path(
        code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256", **params
    )
    form = LoginForm(await browser.http.get(path))
    answer = await browser.http.post(form.action, data=form.fields("admin", browser.admin_password()))
    assert answer.status_code == 302, answer.text
    return query_of(answer.headers["location"])["code"]


async def exchange(
    browser: Browser, code: str, verifier: str | None, redirect_uri: str = FRONTEND_REDIRECT
) -> Any:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": FRONTEND,
        "redirect_uri": redirect_uri,
    }
    if verifier is not None:
        data["code_verifier"] = verifier
    return await browser.http.post("/oauth/token", data=data)


async def test_code_flow_end_to_end_with_authlibs_client(auth: AuthService) -> None:
    async with (
        auth.running() as browser,
        browser.oauth_client(FRONTEND, redirect_uri=FRONTEND_REDIRECT, scope=SCOPE) as client,
    ):
        verifier = generate_token(48)
        url, state = client.create_authorization_url(browser.url("/oauth/authorize"), code_verifier=verifier)

        page = await browser.http.get(url)
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "Sign in to SPICA-DB" in page.text
        form = LoginForm(page)

        answer = await browser.http.post(form.action, data=form.fields("admin", browser.admin_password()))
        assert answer.status_code == 302
        location = answer.headers["location"]
        assert location.split("?")[0] == FRONTEND_REDIRECT
        assert query_of(location)["state"] == state
        assert query_of(location)["code"]

        token = await client.fetch_token(
            browser.url("/oauth/token"), authorization_response=location, code_verifier=verifier
        )
        principal = await (await browser.verifier()).verify(token["access_token"])
        assert principal.subject == "admin"
        assert principal.client_id == FRONTEND
        assert principal.scopes == set(SCOPE.split())
        assert token["refresh_token"]

        # the ID token, checked the way a relying party does (authlib's claims class)
        decoded = jwt.decode(token["id_token"], KeySet.import_key_set(await browser.jwks()))  # type: ignore[arg-type]
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {"iss": {"value": ISSUER}, "aud": {"value": FRONTEND}},
            {"client_id": FRONTEND, "access_token": token["access_token"]},
        )
        claims.validate()
        assert claims["sub"] == "admin"
        assert claims["preferred_username"] == "admin"

        info = await client.get(browser.url("/oauth/userinfo"))
        assert info.status_code == 200, info.text
        assert info.json()["sub"] == "admin"


async def test_a_signed_in_browser_gets_its_code_without_the_login_page(auth: AuthService) -> None:
    async with auth.running() as browser:
        await code_for(browser, generate_token(48))
        verifier = generate_token(48)
        again = await browser.http.get(
            authorize_path(
                code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256", state="s-2"
            )
        )
        assert again.status_code == 302
        assert query_of(again.headers["location"])["state"] == "s-2"
        response = await exchange(browser, query_of(again.headers["location"])["code"], verifier)
        assert response.status_code == 200, response.text


async def test_a_wrong_code_verifier_is_refused(auth: AuthService) -> None:
    async with auth.running() as browser:
        code = await code_for(browser, generate_token(48))
        response = await exchange(browser, code, generate_token(48))
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_a_missing_code_verifier_is_refused(auth: AuthService) -> None:
    async with auth.running() as browser:
        code = await code_for(browser, generate_token(48))
        response = await exchange(browser, code, None)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("params", "why"),
    [
        ({}, "no code_challenge"),
        ({"code_challenge": generate_token(48), "code_challenge_method": "plain"}, "plain method"),
        ({"code_challenge": generate_token(48)}, "method omitted (defaults to plain)"),
    ],
)
async def test_authorization_requests_without_s256_pkce_are_refused(
    auth: AuthService, params: dict[str, str], why: str
) -> None:
    async with auth.running() as browser:
        answer = await browser.http.get(authorize_path(**params))
        assert answer.status_code == 302, why
        sent_back = query_of(answer.headers["location"])
        assert answer.headers["location"].split("?")[0] == FRONTEND_REDIRECT
        assert sent_back["error"] == "invalid_request", why
        assert sent_back["state"] == "s-1"
        assert "code" not in sent_back


async def test_a_redirect_uri_one_character_off_is_refused_without_redirecting(auth: AuthService) -> None:
    verifier = generate_token(48)
    challenge = {"code_challenge": create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    async with auth.running() as browser:
        for near_miss in (
            "http://127.0.0.1:5173/callbacK",
            "http://127.0.0.1:5173/callback/",
            "http://127.0.0.1:5173/callback?x=1",
            "http://127.0.0.1:5174/callback",
            "https://evil.example/callback",
        ):
            answer = await browser.http.get(authorize_path(redirect_uri=near_miss, **challenge))
            assert answer.status_code == 400, near_miss
            assert "location" not in answer.headers
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.json()["error"] == "invalid_request"


async def test_the_code_must_be_exchanged_with_the_redirect_uri_it_was_issued_for(auth: AuthService) -> None:
    async with auth.running() as browser:
        verifier = generate_token(48)
        code = await code_for(browser, verifier)
        response = await exchange(browser, code, verifier, redirect_uri="http://127.0.0.1:5173/callbacK")
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_grant"


async def test_an_unknown_client_gets_a_problem_document_not_a_redirect(auth: AuthService) -> None:
    async with auth.running() as browser:
        answer = await browser.http.get(authorize_path(client_id="nobody"))
        assert answer.status_code == 400
        assert "location" not in answer.headers
        assert answer.json()["error"] == "invalid_client"


async def test_a_reused_code_is_refused_and_revokes_what_it_gave(auth: AuthService) -> None:
    async with auth.running() as browser:
        verifier = generate_token(48)
        code = await code_for(browser, verifier)
        first = await exchange(browser, code, verifier)
        assert first.status_code == 200
        tokens = first.json()

        replay = await exchange(browser, code, verifier)
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"

        # the refresh token and the access token of the first exchange stop working
        refresh = await browser.http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": tokens["refresh_token"],
                "client_id": FRONTEND,
            },
        )
        assert refresh.json()["error"] == "invalid_grant"
        info = await browser.http.get(
            "/oauth/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert info.status_code == 401


async def test_a_person_gets_only_what_their_roles_grant(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        created = await browser.admin(
            "POST",
            "/admin/users",
            admin,
            json={"username": "vega", "roles": ["reader"], "password": "a long password 1"},
        )
        assert created.status_code == 201, created.text
        token = await browser.sign_in_with_code(
            "vega", "a long password 1", scope="openid programmes:read programmes:write admin"
        )
        principal = await (await browser.verifier()).verify(token["access_token"])
        assert principal.scopes == {"openid", "programmes:read"}


async def test_a_wrong_password_shows_the_form_again_and_no_code(auth: AuthService) -> None:
    async with auth.running() as browser:
        verifier = generate_token(48)
        path = authorize_path(
            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256"
        )
        form = LoginForm(await browser.http.get(path))
        answer = await browser.http.post(form.action, data=form.fields("admin", "wrong"))
        assert answer.status_code == 401
        assert "Wrong user name or password" in answer.text
        assert "location" not in answer.headers


async def test_the_login_form_needs_its_csrf_token(auth: AuthService) -> None:
    async with auth.running() as browser:
        verifier = generate_token(48)
        path = authorize_path(
            code_challenge=create_s256_code_challenge(verifier), code_challenge_method="S256"
        )
        form = LoginForm(await browser.http.get(path))
        forged = {"username": "admin", "password": browser.admin_password(), "csrf_token": "guessed"}
        answer = await browser.http.post(form.action, data=forged)
        assert answer.status_code == 403
        assert "location" not in answer.headers

        cross_site = await browser.http.post(
            form.action,
            data=form.fields("admin", browser.admin_password()),
            headers={"Origin": "https://evil.example"},
        )
        assert cross_site.status_code == 403


async def test_authlib_reports_a_refused_exchange(auth: AuthService) -> None:
    """What a client application sees: authlib raises the OAuth error."""
    async with (
        auth.running() as browser,
        browser.oauth_client(FRONTEND, redirect_uri=FRONTEND_REDIRECT, scope=SCOPE) as client,
    ):
        code = await code_for(browser, generate_token(48))
        with pytest.raises(OAuthError) as refused:
            await client.fetch_token(browser.url("/oauth/token"), code=code, code_verifier=generate_token(48))
        assert refused.value.error == "invalid_grant"


async def test_prompt_none_without_a_session_answers_login_required(auth: AuthService) -> None:
    """A silent re-authentication attempt (the frontend's iframe-less check) never shows a page."""
    verifier = generate_token(48)
    async with auth.running() as browser:
        answer = await browser.http.get(
            authorize_path(
                prompt="none",
                code_challenge=create_s256_code_challenge(verifier),
                code_challenge_method="S256",
            )
        )
        assert answer.status_code == 302
        assert query_of(answer.headers["location"])["error"] == "login_required"
