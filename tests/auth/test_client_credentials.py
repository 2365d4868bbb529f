"""Robots: client_credentials with authlib's client; the access token is an RFC 9068 JWT that
the kit's verifier (what every SPICA-DB service runs) accepts, with exactly the client's scopes."""

from __future__ import annotations

import base64
import json

import httpx
import pytest
from auth_support import ISSUER, AuthService
from authlib.integrations.base_client import OAuthError
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata
from spicadb_auth.spec import SPEC


def header_of(token: str) -> dict[str, str]:
    head = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4))))


async def test_a_robot_gets_a_token_the_kit_verifier_accepts_with_exactly_its_scopes(
    auth: AuthService,
) -> None:
    async with auth.running() as browser:
        token = await browser.robot_token("drs")
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 600
        assert "refresh_token" not in token

        principal = await (await browser.verifier()).verify(token["access_token"])

        assert principal.subject == "drs"
        assert principal.client_id == "drs"
        assert principal.scopes == {"oifits:push", "oifits:read"}
        assert principal.token_id
        header = header_of(token["access_token"])
        assert header["typ"] == "at+jwt"
        assert header["alg"] == "RS256"
        assert header["kid"] in {k["kid"] for k in (await browser.jwks())["keys"]}


async def test_a_robot_asking_for_less_gets_less_and_asking_for_more_is_refused(auth: AuthService) -> None:
    async with auth.running() as browser:
        narrow = await browser.robot_token("scheduler", scope="nightlogs:read")
        assert (await (await browser.verifier()).verify(narrow["access_token"])).scopes == {"nightlogs:read"}

        async with browser.robot("scheduler") as client:
            with pytest.raises(OAuthError) as refused:
                await client.fetch_token(
                    browser.url("/oauth/token"), grant_type="client_credentials", scope="admin"
                )
        assert refused.value.error == "invalid_scope"


async def test_a_wrong_secret_is_refused_with_an_oauth_error(auth: AuthService) -> None:
    async with auth.running() as browser:
        response = await browser.http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("drs", "not-the-secret")
        )
        assert response.status_code == 401
        assert response.json()["error"] == "invalid_client"
        assert response.headers["cache-control"] == "no-store"


async def test_a_public_client_cannot_use_client_credentials(auth: AuthService) -> None:
    async with auth.running() as browser:
        response = await browser.http.post(
            "/oauth/token", data={"grant_type": "client_credentials", "client_id": "spica-frontend"}
        )
        assert response.status_code in (400, 401)
        assert response.json()["error"] in ("invalid_client", "unauthorized_client")


async def test_discovery_documents_are_valid_and_built_from_the_issuer(auth: AuthService) -> None:
    async with auth.running() as browser:
        oidc = (await browser.http.get("/.well-known/openid-configuration")).json()
        rfc8414 = (await browser.http.get("/.well-known/oauth-authorization-server")).json()
        OpenIDProviderMetadata(oidc).validate()
        AuthorizationServerMetadata(rfc8414).validate()
        assert oidc["issuer"] == ISSUER
        assert oidc["token_endpoint"] == f"{ISSUER}/oauth/token"
        assert oidc["jwks_uri"] == f"{ISSUER}/.well-known/jwks.json"
        assert oidc["code_challenge_methods_supported"] == ["S256"]
        assert "admin" in oidc["scopes_supported"]

        jwks = await browser.http.get("/.well-known/jwks.json")
        assert jwks.headers["cache-control"] == "public, max-age=300"
        keys = jwks.json()["keys"]
        assert len(keys) == 1
        assert "d" not in keys[0]  # the public half only


async def test_token_endpoint_answers_oauth_errors_not_problem_documents(auth: AuthService) -> None:
    async with auth.running() as browser:
        response = await browser.http.post("/oauth/token", data={"grant_type": "password"}, auth=("drs", "x"))
        assert response.status_code == 400
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"] == "unsupported_grant_type"


async def test_the_token_works_through_authlib_as_a_bearer(auth: AuthService) -> None:
    """The token authlib's client holds is accepted by the service's own bearer routes too."""
    async with auth.running() as browser:
        async with browser.robot("drs") as client:
            await client.fetch_token(browser.url("/oauth/token"), grant_type="client_credentials")
            answer = await client.get(browser.url("/admin/scopes"))
        assert answer.status_code == 403  # a valid token, without the admin scope
        assert answer.headers["content-type"] == "application/problem+json"
        assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
        assert isinstance(answer, httpx.Response)


async def test_the_openapi_document_lists_every_endpoint_under_the_gateway_prefixes(
    auth: AuthService,
) -> None:
    """The gateway merges this document and routes by these prefixes: nothing may fall outside."""
    async with auth.running() as browser:
        document = await browser.http.get("/openapi.json")
        assert document.status_code == 200, document.text
        paths = set(document.json()["paths"])
        assert {
            "/oauth/token",
            "/oauth/authorize",
            "/.well-known/jwks.json",
            "/login",
            "/admin/clients",
        } <= paths
        assert all(p.startswith(SPEC.gateway_prefixes) for p in paths), paths
        routed = tuple(route.prefix for route in SPEC.routes)
        assert all(p.startswith(routed) for p in paths), paths
