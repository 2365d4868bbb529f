"""Refresh tokens rotate and a replayed one revokes its whole family; revoked access tokens are
inactive at introspection, refused by the service, and announced to the platform as events."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from auth_support import FRONTEND, REVOKED_EVENT, AuthService, Browser
from authlib.integrations.base_client import OAuthError
from harness import eventually

from spicadb_contracts.auth import TokenRevoked


async def refresh(browser: Browser, refresh_token: str) -> Any:
    return await browser.http.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": FRONTEND},
    )


async def introspect(browser: Browser, token: str) -> dict[str, Any]:
    """What a resource server (a client with the introspection right) learns of the token."""
    response = await browser.http.post(
        "/oauth/introspect", data={"token": token}, auth=await browser.service.resource_server()
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_each_refresh_returns_a_new_refresh_token(auth: AuthService) -> None:
    async with auth.running() as browser:
        first = await browser.admin_token_set()
        second = await refresh(browser, first["refresh_token"])
        assert second.status_code == 200, second.text
        rotated = second.json()
        assert rotated["refresh_token"] != first["refresh_token"]
        assert rotated["access_token"] != first["access_token"]
        principal = await (await browser.verifier()).verify(rotated["access_token"])
        assert principal.subject == "admin"

        third = await refresh(browser, rotated["refresh_token"])
        assert third.status_code == 200


async def test_a_reused_refresh_token_revokes_its_whole_family(auth: AuthService) -> None:
    async with auth.running() as browser:
        first = await browser.admin_token_set()
        second = (await refresh(browser, first["refresh_token"])).json()
        third = (await refresh(browser, second["refresh_token"])).json()

        replay = await refresh(browser, first["refresh_token"])  # a thief's copy of an old one
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"

        # the newest refresh token of the family stops working too
        newest = await refresh(browser, third["refresh_token"])
        assert newest.status_code == 400
        assert newest.json()["error"] == "invalid_grant"
        # and so do the family's access tokens still alive
        assert (await introspect(browser, third["access_token"]))["active"] is False
        assert (await introspect(browser, third["refresh_token"]))["active"] is False
        revoked = await auth.rows("SELECT reason FROM revoked_token")
        assert {r["reason"] for r in revoked} == {"refresh_reuse"}
        assert len(revoked) == 3


async def test_another_grant_of_the_same_person_survives_a_family_revocation(auth: AuthService) -> None:
    async with auth.running() as browser:
        stolen = await browser.admin_token_set()
        other = await browser.admin_token_set()
        await refresh(browser, stolen["refresh_token"])
        await refresh(browser, stolen["refresh_token"])  # reuse: family of `stolen` revoked
        assert (await refresh(browser, other["refresh_token"])).status_code == 200


async def test_authlibs_client_refreshes_with_rotation(auth: AuthService) -> None:
    async with auth.running() as browser:
        first = await browser.admin_token_set()
        async with browser.oauth_client(FRONTEND, token=first) as client:
            renewed = await client.refresh_token(browser.url("/oauth/token"))
            assert renewed["refresh_token"] != first["refresh_token"]
            with pytest.raises(OAuthError) as refused:
                await client.refresh_token(browser.url("/oauth/token"), refresh_token=first["refresh_token"])
            assert refused.value.error == "invalid_grant"


async def test_revoking_an_access_token_deactivates_it_and_publishes_an_event(auth: AuthService) -> None:
    async with auth.running() as browser:
        token = (await browser.robot_token("drs"))["access_token"]
        principal = await (await browser.verifier()).verify(token)
        assert (await introspect(browser, token))["active"] is True

        async with browser.robot("drs") as client:
            answer = await client.revoke_token(
                browser.url("/oauth/revoke"), token, token_type_hint="access_token"
            )
        assert answer.status_code == 200

        assert (await introspect(browser, token)) == {"active": False}
        rows = await auth.rows(
            "SELECT event_type, aggregate_id, payload FROM outbox WHERE event_type = $1", REVOKED_EVENT
        )
        assert len(rows) == 1
        event = msgspec.json.decode(rows[0]["payload"], type=TokenRevoked)  # the published contract
        assert event.jti == principal.token_id == rows[0]["aggregate_id"]
        assert event.exp == principal.expires_at
        assert event.reason == "revocation"
        assert event.client_id == "drs"
        # never a secret in an event: the token itself is not there
        assert token not in rows[0]["payload"].decode()

        # the relay publishes it to JetStream
        async def published() -> Any:
            return await auth.scalar("SELECT published_at FROM outbox WHERE event_type = $1", REVOKED_EVENT)

        await eventually(published)


async def test_a_revoked_token_is_refused_by_the_service_itself(auth: AuthService) -> None:
    async with auth.running() as browser:
        token = await browser.admin_token()
        assert (await browser.admin("GET", "/admin/scopes", token)).status_code == 200
        async with browser.oauth_client(FRONTEND) as client:
            answer = await client.revoke_token(browser.url("/oauth/revoke"), token)
        assert answer.status_code == 200
        refused = await browser.admin("GET", "/admin/scopes", token)
        assert refused.status_code == 401
        assert refused.json()["detail"] == "token revoked"


async def test_revoking_twice_or_an_unknown_token_is_not_an_error(auth: AuthService) -> None:
    async with auth.running() as browser:
        token = (await browser.robot_token("drs"))["access_token"]
        async with browser.robot("drs") as client:
            for candidate in (token, token, "not-a-token-we-issued"):
                answer = await client.revoke_token(browser.url("/oauth/revoke"), candidate)
                assert answer.status_code == 200
        assert await auth.scalar("SELECT count(*) FROM outbox WHERE event_type = $1", REVOKED_EVENT) == 1


async def test_a_client_cannot_revoke_another_clients_token(auth: AuthService) -> None:
    async with auth.running() as browser:
        token = (await browser.robot_token("drs"))["access_token"]
        async with browser.robot("scheduler") as client:
            answer = await client.revoke_token(browser.url("/oauth/revoke"), token)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        assert (await introspect(browser, token))["active"] is True


async def test_revoking_a_refresh_token_revokes_its_grant(auth: AuthService) -> None:
    async with auth.running() as browser:
        tokens = await browser.admin_token_set()
        async with browser.oauth_client(FRONTEND) as client:
            answer = await client.revoke_token(
                browser.url("/oauth/revoke"), tokens["refresh_token"], token_type_hint="refresh_token"
            )
        assert answer.status_code == 200
        assert (await refresh(browser, tokens["refresh_token"])).json()["error"] == "invalid_grant"
        assert (await introspect(browser, tokens["access_token"]))["active"] is False


async def test_introspection_describes_an_active_token_to_confidential_clients_only(
    auth: AuthService,
) -> None:
    async with auth.running() as browser:
        tokens = await browser.admin_token_set()
        described = await introspect(browser, tokens["access_token"])
        assert described["active"] is True
        assert described["sub"] == "admin"
        assert described["client_id"] == FRONTEND
        assert described["token_type"] == "Bearer"
        assert set(described["scope"].split()) == {"openid", "profile", "offline_access", "admin"}

        public = await browser.http.post(
            "/oauth/introspect", data={"token": tokens["access_token"], "client_id": FRONTEND}
        )
        assert public.status_code in (400, 401)
        assert public.json()["error"] == "invalid_client"
