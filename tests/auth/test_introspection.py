"""Introspection (RFC 7662) answers only resource servers (clients registered with the
``token:introspect`` scope) and admin clients; any other client learns nothing: every token is
``{"active": false}`` to it (RFC 7662 §2.2: a client not allowed to introspect a token gets an
inactive answer). Access tokens without a ``jti`` are refused by every verifier."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from auth_support import FRONTEND, AuthService, Browser
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from spicadb_kit.errors import Unauthorized


async def confidential_client(
    browser: Browser, admin: str, client_id: str, scopes: list[str]
) -> tuple[str, str]:
    created = await browser.admin(
        "POST",
        "/admin/clients",
        admin,
        json={"client_id": client_id, "scopes": scopes, "grant_types": ["client_credentials"]},
    )
    assert created.status_code == 201, created.text
    return client_id, str(created.json()["client_secret"])


async def introspect(browser: Browser, token: str, client: tuple[str, str]) -> dict[str, Any]:
    response = await browser.http.post("/oauth/introspect", data={"token": token}, auth=client)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_a_robot_cannot_introspect_anyone_elses_token(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin_tokens = await browser.admin_token_set()
        drs = browser.service.credentials()["clients"]["drs"]
        robot = (drs["client_id"], drs["client_secret"])
        for token in (admin_tokens["access_token"], admin_tokens["refresh_token"]):
            assert await introspect(browser, token, robot) == {"active": False}
        # not even its own: introspection is for resource servers
        own = (await browser.robot_token("drs"))["access_token"]
        assert await introspect(browser, own, robot) == {"active": False}


async def test_resource_servers_and_admin_clients_introspect(auth: AuthService) -> None:
    async with auth.running() as browser:
        tokens = await browser.admin_token_set()
        admin = await browser.admin_token()
        gateway = await confidential_client(browser, admin, "resource-server", ["token:introspect"])
        ops = await confidential_client(browser, admin, "ops", ["admin"])
        for client in (gateway, ops):
            described = await introspect(browser, tokens["access_token"], client)
            assert described["active"] is True
            assert described["sub"] == "admin"
            assert described["client_id"] == FRONTEND
            assert (await introspect(browser, tokens["refresh_token"], client))["active"] is True
        catalogue = (await browser.admin("GET", "/admin/scopes", admin)).json()
        assert "token:introspect" in {s["name"] for s in catalogue["scopes"]}


async def signed_by_the_service(auth: AuthService, issuer: str, **extra: Any) -> str:
    """An access token signed with the service's current key, with exactly these claims."""
    row = (await auth.rows("SELECT kid, alg, private_jwk FROM signing_key WHERE state = 'current'"))[0]
    jwk = row["private_jwk"]
    key = RSAKey.import_key(jwk) if jwk["kty"] == "RSA" else ECKey.import_key(jwk)
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": "spicadb",
        "sub": "admin",
        "client_id": FRONTEND,
        "scope": "admin",
        "iat": now,
        "exp": now + 300,
        **extra,
    }
    return jwt.encode({"alg": row["alg"], "kid": row["kid"], "typ": "at+jwt"}, claims, key)


async def test_a_token_without_jti_is_refused(auth: AuthService) -> None:
    async with auth.running() as browser:
        without = await signed_by_the_service(auth, browser.issuer)
        with pytest.raises(Unauthorized, match="jti"):
            await (await browser.verifier()).verify(without)
        refused = await browser.admin("GET", "/admin/clients", without)
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        # an empty one is no better
        empty = await signed_by_the_service(auth, browser.issuer, jti="")
        with pytest.raises(Unauthorized, match="jti"):
            await (await browser.verifier()).verify(empty)

        # the same token with a jti passes: the refusal was the jti's
        jti = uuid.uuid4().hex
        with_jti = await signed_by_the_service(auth, browser.issuer, jti=jti)
        assert (await (await browser.verifier()).verify(with_jti)).token_id == jti
        assert (await browser.admin("GET", "/admin/clients", with_jti)).status_code == 200
