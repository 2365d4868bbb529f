"""Login delegated to an upstream OpenID provider: a second instance of the auth service (its
own database, its own issuer) plays the institute's single sign-on; the first one talks to it
with authlib's client, maps its subject to a local account, and continues the code flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec
import pytest
from auth_support import FRONTEND, FRONTEND_REDIRECT, ISSUER, AuthService, Browser, LoginForm, query_of
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from nats.js import JetStreamContext

from spicadb_contracts.auth import UserCreated
from spicadb_kit.infra import NatsServer

UPSTREAM = "http://127.0.0.2:8101"  # another loopback address: another origin
CALLBACK = f"{ISSUER}/login/upstream/callback"


@pytest.fixture
async def upstream(
    second_database: str, jetstream: JetStreamContext, nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[AuthService]:
    service = AuthService(second_database, nats_server.url, tmp_path / "upstream", issuer=UPSTREAM)
    await service.install(jetstream)
    yield service
    await service.close()


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@asynccontextmanager
async def federation(auth: AuthService, upstream: AuthService) -> AsyncIterator[tuple[Browser, Browser]]:
    """The upstream provider with an account (sirius) and a client for us; our service set up to
    delegate to it, reaching it in-process."""
    async with upstream.running() as provider:
        admin = await provider.admin_token()
        client = await provider.admin(
            "POST",
            "/admin/clients",
            admin,
            json={
                "client_id": "spicadb",
                "scopes": ["openid", "profile", "email"],
                "grant_types": ["authorization_code"],
                "redirect_uris": [CALLBACK],
            },
        )
        assert client.status_code == 201, client.text
        person = await provider.admin(
            "POST",
            "/admin/users",
            admin,
            json={
                "username": "sirius",
                "password": "the dog star 1",
                "name": "Sirius A",
                "email": "sirius@oca.eu",
            },
        )
        assert person.status_code == 201, person.text
        provider.http.cookies.clear()
        async with auth.running(
            upstream_transport=provider.transport(),
            upstream_issuer=UPSTREAM,
            upstream_client_id="spicadb",
            upstream_client_secret=client.json()["client_secret"],
            upstream_name="OCA single sign-on",
            upstream_default_roles="astronomer",
        ) as ours:
            yield ours, provider


async def sign_in_upstream(ours: Browser, provider: Browser, verifier: str) -> Any:
    """A browser's way through both services; the answer of our authorization endpoint at the end."""
    start = "/oauth/authorize?" + "&".join(
        f"{k}={v}"
        for k, v in {
            "response_type": "code",
            "client_id": FRONTEND,
            "redirect_uri": FRONTEND_REDIRECT,
            "scope": "openid+profile+programmes:write",
            "state": "st-9",
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }.items()
    )
    page = LoginForm(await ours.http.get(start))
    assert page.upstream is not None
    assert "OCA single sign-on" in page.html

    to_provider = await ours.http.get(page.upstream)
    assert to_provider.status_code == 302
    location = to_provider.headers["location"]
    assert location.startswith(f"{UPSTREAM}/oauth/authorize?")
    assert query_of(location)["code_challenge_method"] == "S256"
    assert query_of(location)["nonce"]

    provider_form = LoginForm(await provider.http.get(local(location)))
    back = await provider.http.post(
        provider_form.action, data=provider_form.fields("sirius", "the dog star 1")
    )
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    assert callback.startswith(CALLBACK + "?")

    resumed = await ours.http.get(local(callback))
    assert resumed.status_code == 303, resumed.text
    assert resumed.headers["location"].startswith("/oauth/authorize?")
    return await ours.http.get(resumed.headers["location"])


async def test_a_person_signs_in_through_the_upstream_provider(
    auth: AuthService, upstream: AuthService
) -> None:
    async with federation(auth, upstream) as (ours, provider):
        verifier = generate_token(48)
        answer = await sign_in_upstream(ours, provider, verifier)
        assert answer.status_code == 302
        sent_back = query_of(answer.headers["location"])
        assert answer.headers["location"].startswith(FRONTEND_REDIRECT + "?")
        assert sent_back["state"] == "st-9"

        token = await ours.http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": sent_back["code"],
                "code_verifier": verifier,
                "client_id": FRONTEND,
                "redirect_uri": FRONTEND_REDIRECT,
            },
        )
        assert token.status_code == 200, token.text
        principal = await (await ours.verifier()).verify(token.json()["access_token"])
        # a local account, created on this first sign-in with the configured default roles
        assert principal.subject == "sirius"
        assert principal.scopes == {"openid", "profile", "programmes:write"}
        account = (
            await auth.rows(
                "SELECT origin, roles, email, name, password_hash FROM account WHERE username = 'sirius'"
            )
        )[0]
        assert (account["origin"], list(account["roles"]), account["email"], account["name"]) == (
            "upstream",
            ["astronomer"],
            "sirius@oca.eu",
            "Sirius A",
        )
        assert account["password_hash"] is None  # it cannot sign in locally
        assert (
            await auth.scalar("SELECT subject FROM upstream_identity WHERE username = 'sirius'") == "sirius"
        )
        audit = await auth.rows("SELECT actor, action FROM audit WHERE target_id = 'sirius'")
        assert [(a["actor"], a["action"]) for a in audit] == [(f"upstream:{UPSTREAM}", "user.create")]
        created = await auth.rows("SELECT payload FROM outbox WHERE aggregate_id = 'sirius'")
        assert [msgspec.json.decode(r["payload"], type=UserCreated).origin for r in created] == ["upstream"]

        # a second sign-in (a new browser) finds the same account
        ours.http.cookies.clear()
        provider.http.cookies.clear()
        again = await sign_in_upstream(ours, provider, generate_token(48))
        assert again.status_code == 302
        assert await auth.scalar("SELECT count(*) FROM account WHERE origin = 'upstream'") == 1


async def test_a_callback_not_started_by_this_browser_or_replayed_is_refused(
    auth: AuthService, upstream: AuthService
) -> None:
    async with federation(auth, upstream) as (ours, provider):
        page = LoginForm(
            await ours.http.get(
                "/oauth/authorize?response_type=code&client_id=spica-frontend&state=x"
                f"&code_challenge={create_s256_code_challenge(generate_token(48))}&code_challenge_method=S256"
            )
        )
        assert page.upstream
        location = (await ours.http.get(page.upstream)).headers["location"]
        provider_form = LoginForm(await provider.http.get(local(location)))
        callback = (
            await provider.http.post(
                provider_form.action, data=provider_form.fields("sirius", "the dog star 1")
            )
        ).headers["location"]

        # another browser (without the state cookie set with the redirect) cannot complete it
        jar = dict(ours.http.cookies)
        ours.http.cookies.clear()
        refused = await ours.http.get(local(callback))
        assert refused.status_code == 400
        assert "not started from this browser" in refused.text
        for name, value in jar.items():
            ours.http.cookies.set(name, value)

        completed = await ours.http.get(local(callback))
        assert completed.status_code == 303
        replayed = await ours.http.get(local(callback))
        assert replayed.status_code in (400, 401)
        assert await auth.scalar("SELECT count(*) FROM account WHERE origin = 'upstream'") == 1


async def test_an_error_from_the_provider_shows_the_login_page(
    auth: AuthService, upstream: AuthService
) -> None:
    async with federation(auth, upstream) as (ours, _):
        answer = await ours.http.get(
            "/login/upstream/callback", params={"error": "access_denied", "state": "x"}
        )
        assert answer.status_code == 401
        assert "access_denied" in answer.text
        assert LoginForm(answer).action


async def test_without_an_upstream_provider_its_pages_answer_404_and_the_login_page_offers_none(
    auth: AuthService,
) -> None:
    async with auth.running() as browser:
        page = LoginForm(await browser.http.get("/login"))
        assert page.upstream is None
        started = await browser.http.get("/login/upstream", params={"next": "/somewhere"})
        assert started.status_code == 404, started.text
        assert "not configured" in started.text
        # 404 before the state is looked at: a callback with no matching cookie is no 400 here
        back = await browser.http.get("/login/upstream/callback", params={"code": "c", "state": "s"})
        assert back.status_code == 404, back.text
        assert "spicadb_session" not in back.headers.get("set-cookie", "")
