"""The gateway refuses bad tokens itself (401/403 problem documents with a challenge), before anything
reaches a service; and it learns of revoked tokens from the auth service's events."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from gateway_stack import Stack
from gateway_support import assert_problem
from harness import eventually

from spicadb_kit.testing.tokens import TokenFactory


def b64(data: dict[str, Any] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(tokens: TokenFactory, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "sub": "mallory",
        "client_id": "drs",
        "scope": "probe:read",
        "iat": now,
        "exp": now + 600,
        "jti": "j-" + str(now),
    }
    body.update(overrides)
    return body


def alg_none(tokens: TokenFactory) -> str:
    return f"{b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'test-1'})}.{b64(claims(tokens))}."


def hmac_with_public_key(tokens: TokenFactory) -> str:
    public_pem = tokens.key.as_pem(private=False)
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'test-1'})}.{b64(claims(tokens))}"
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def tampered(tokens: TokenFactory) -> str:
    header, _, signature = tokens.mint("probe:read").split(".")
    return f"{header}.{b64(claims(tokens, scope='probe:read admin'))}.{signature}"


BAD_TOKENS: dict[str, Callable[[TokenFactory], str]] = {
    "expired": lambda t: t.mint("probe:read", lifetime=-120),
    "not yet valid": lambda t: t.mint("probe:read", nbf=int(time.time()) + 600),
    "wrong issuer": lambda t: t.mint("probe:read", iss="http://evil.test"),
    "wrong audience": lambda t: t.mint("probe:read", aud="someone-else"),
    "alg none": alg_none,
    "HMAC signed with the public key": hmac_with_public_key,
    "unknown key id": lambda t: t.mint("probe:read", header={"kid": "no-such-key"}),
    "tampered payload": tampered,
    "not an access token": lambda t: t.mint("probe:read", header={"typ": "JWT"}),
    "garbage": lambda t: "not-a-jwt",
}


@pytest.mark.parametrize("case", sorted(BAD_TOKENS))
async def test_bad_tokens_are_refused_with_401_before_the_service(stack: Stack, case: str) -> None:
    token = BAD_TOKENS[case](stack.tokens)
    seen = len(stack.echo.seen)
    async with stack.client() as client:
        response = await client.post(
            "/echo/upload", content=b"x" * 100, headers={"Authorization": f"Bearer {token}"}
        )
    body = assert_problem(response, 401, "invalid-token")
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"'), body
    assert len(stack.echo.seen) == seen, "the upstream must receive nothing"


async def test_missing_or_malformed_credentials_are_401(stack: Stack) -> None:
    async with stack.client() as client:
        missing = await client.get("/pings/x")
        basic = await client.get("/pings/x", headers={"Authorization": "Basic YTpi"})
    assert_problem(missing, 401, "missing-token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(basic, 401, "invalid-token")


async def test_a_token_without_the_route_scope_is_403(stack: Stack) -> None:
    seen = len(stack.echo.seen)
    async with stack.client() as client:
        read_only = await client.post("/echo/upload", content=b"x", headers=stack.bearer("probe:read"))
        pings = await client.post("/pings", json={"id": "nope"}, headers=stack.bearer("probe:read"))
        admin = await client.post("/echo/upload", content=b"x", headers=stack.bearer("admin"))
    body = assert_problem(read_only, 403, "insufficient-scope")
    assert body["required"] == ["probe:write"]
    challenge = read_only.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="probe:write"' in challenge
    assert_problem(pings, 403, "insufficient-scope")
    assert len(stack.echo.seen) == seen + 1  # only the admin's request went through
    assert admin.status_code == 200  # admin carries every scope


async def test_anonymous_routes_need_no_token(stack: Stack) -> None:
    async with stack.client() as client:
        public = await client.get("/echo/public")
        health = await client.get("/health/live")
    assert public.status_code == 200
    assert health.json() == {"status": "alive"}


async def test_a_revoked_token_is_refused_by_every_replica(stack: Stack) -> None:
    replica = await stack.start_gateway()
    jti = "revoked-" + str(time.time_ns())
    exp = int(time.time()) + 600
    token = stack.tokens.mint("probe:read", jti=jti, exp=exp)
    headers = {"Authorization": f"Bearer {token}"}
    async with stack.client() as client, stack.client(replica.url) as other:
        assert (await client.get("/echo/before", headers=headers)).status_code == 200  # verified and cached
        assert (await other.get("/echo/before", headers=headers)).status_code == 200
        await stack.publish_revocation(jti, exp)

        async def refused(c: Any) -> Any:
            response = await c.get("/echo/after", headers=headers)
            return response if response.status_code == 401 else None

        for c in (client, other):
            response = await eventually(lambda c=c: refused(c), timeout=10)
            body = assert_problem(response, 401, "invalid-token")
            assert "revoked" in body["detail"]
        fresh = await client.get("/echo/after", headers=stack.bearer("probe:read"))
    assert fresh.status_code == 200  # other tokens are unaffected
    row = await stack.pool.fetchrow("SELECT jti, expires_at FROM revoked_token WHERE jti = $1", jti)
    assert row is not None
    assert int(row["expires_at"].timestamp()) == exp


async def test_a_revoked_token_is_refused_on_routes_that_also_answer_without_one(stack: Stack) -> None:
    """Downloads, previews and the VO endpoints answer anonymously, and show more to a token's holder: a
    revoked token there is 401, not a quiet anonymous call (nor a member's view until it expires)."""
    jti = "optional-" + str(time.time_ns())
    exp = int(time.time()) + 600
    headers = {"Authorization": f"Bearer {stack.tokens.mint('probe:read', jti=jti, exp=exp)}"}
    async with stack.client() as client:
        before = await client.get("/echo/public", headers=headers)
        await stack.publish_revocation(jti, exp)

        async def refused() -> Any:
            response = await client.get("/echo/x", headers=headers)
            return response if response.status_code == 401 else None

        await eventually(refused, timeout=10)
        seen = len(stack.echo.seen)
        after = await client.get("/echo/public", headers=headers)
        forged = await client.get("/echo/public", headers={"Authorization": "Bearer not-a-token"})
        anonymous = await client.get("/echo/public")
        # other schemes are for the service (client credentials at the token endpoint)
        basic = await client.get("/echo/public", headers={"Authorization": "Basic ZHJzOnNlY3JldA=="})
    assert before.status_code == 200
    assert (
        before.json()["headers"].count(["x-auth-request-user", "alice"]) == 1
    )  # the holder, for the service
    assert "revoked" in assert_problem(after, 401, "invalid-token")["detail"]
    assert_problem(forged, 401, "invalid-token")
    assert anonymous.status_code == 200
    assert basic.status_code == 200
    assert ["authorization", "Basic ZHJzOnNlY3JldA=="] in basic.json()["headers"]
    assert len(stack.echo.seen) == seen + 2  # only the anonymous calls went through


async def test_a_revocation_committed_after_a_later_one_is_not_skipped(stack: Stack) -> None:
    """Replicas read the revocations another replica's consumer recorded: a row whose transaction commits
    after a later-numbered row was read must still be read."""
    exp = int(time.time()) + 600
    early, late = ("early-" + str(time.time_ns()), "late-" + str(time.time_ns()))
    early_headers = {"Authorization": f"Bearer {stack.tokens.mint('probe:read', jti=early, exp=exp)}"}
    late_headers = {"Authorization": f"Bearer {stack.tokens.mint('probe:read', jti=late, exp=exp)}"}
    insert = "INSERT INTO revoked_token (jti, expires_at) VALUES ($1, to_timestamp($2))"
    async with stack.pool.acquire() as slow, stack.client() as client:
        transaction = slow.transaction()
        await transaction.start()
        await slow.execute(insert, early, exp)  # takes its sequence number first, commits last
        await stack.pool.execute(insert, late, exp)

        async def refused(headers: dict[str, str]) -> Any:
            response = await client.get("/echo/x", headers=headers)
            return response if response.status_code == 401 else None

        await eventually(lambda: refused(late_headers), timeout=10)  # read past the early row's number
        await transaction.commit()
        response = await eventually(lambda: refused(early_headers), timeout=10)
    assert "revoked" in assert_problem(response, 401, "invalid-token")["detail"]


async def test_revocations_survive_a_restart(stack: Stack) -> None:
    jti = "restart-" + str(time.time_ns())
    exp = int(time.time()) + 600
    await stack.publish_revocation(jti, exp)
    await eventually(
        lambda: stack.pool.fetchval("SELECT 1 FROM revoked_token WHERE jti = $1", jti), timeout=10
    )
    fresh = await stack.start_gateway()  # loads the table at startup
    async with stack.client(fresh.url) as client:
        response = await client.get("/echo/x", headers=stack.bearer("probe:read", jti=jti, exp=exp))
    assert_problem(response, 401, "invalid-token")


async def test_whoami_tells_a_robot_who_its_token_speaks_for(stack: Stack) -> None:
    token = stack.tokens.mint("oifits:push", "oifits:read", subject="drs", client_id="drs")
    async with stack.client() as client:
        response = await client.get("/auth/whoami", headers={"Authorization": f"Bearer {token}"})
        anonymous = await client.get("/auth/whoami")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["subject"] == "drs"
    assert body["client_id"] == "drs"
    assert body["scopes"] == ["oifits:push", "oifits:read"]
    assert body["via"] == "bearer"
    assert body["expires_at"] > time.time()
    assert_problem(anonymous, 401, "missing-token")
