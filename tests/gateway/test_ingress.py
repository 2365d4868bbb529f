"""Ingress mode: nginx asks ``GET /auth/ingress`` whether a request may pass (auth-url sub-request) and
forwards the identity headers it gets back; the route policy is the same as in proxy mode."""

from __future__ import annotations

from gateway_stack import Stack
from gateway_support import assert_problem


def original(stack: Stack, path: str, method: str = "GET") -> dict[str, str]:
    """The headers ingress-nginx adds to its auth sub-request."""
    return {"X-Original-URL": f"https://spicadb.example.org{path}", "X-Original-Method": method}


async def test_a_token_with_the_scopes_gets_identity_headers(stack: Stack) -> None:
    token = stack.tokens.mint("probe:read", "probe:write", subject="carol", client_id="scheduler")
    async with stack.client() as client:
        response = await client.get(
            "/auth/ingress?scope=probe:read&scope=probe:write", headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    assert response.headers["x-auth-request-user"] == "carol"
    assert response.headers["x-auth-request-client"] == "scheduler"
    assert response.headers["x-auth-request-scopes"] == "probe:read probe:write"
    assert response.headers["x-auth-request-token"] == token
    assert response.headers["authorization"] == f"Bearer {token}"
    assert response.headers["cache-control"] == "no-store"


async def test_no_or_bad_credentials_get_an_rfc6750_challenge(stack: Stack) -> None:
    async with stack.client() as client:
        missing = await client.get("/auth/ingress?scope=probe:read")
        expired = await client.get(
            "/auth/ingress?scope=probe:read", headers=stack.bearer("probe:read", lifetime=-300)
        )
        short = await client.get("/auth/ingress?scope=probe:write", headers=stack.bearer("probe:read"))
    assert_problem(missing, 401, "missing-token")
    assert missing.headers["www-authenticate"] == "Bearer"
    assert_problem(expired, 401, "invalid-token")
    assert expired.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert_problem(short, 403, "insufficient-scope")
    assert short.headers["www-authenticate"].startswith('Bearer error="insufficient_scope"')
    assert 'scope="probe:write"' in short.headers["www-authenticate"]


async def test_the_route_policy_applies_to_the_original_request(stack: Stack) -> None:
    reader = stack.bearer("probe:read")
    async with stack.client() as client:
        read = await client.get("/auth/ingress", headers={**reader, **original(stack, "/pings/p1")})
        write = await client.get("/auth/ingress", headers={**reader, **original(stack, "/pings", "POST")})
        public = await client.get("/auth/ingress", headers=original(stack, "/echo/public"))
        unknown = await client.get("/auth/ingress", headers={**reader, **original(stack, "/nowhere")})
        method = await client.get(
            "/auth/ingress", headers={**reader, **original(stack, "/pings/p1", "DELETE")}
        )
    assert read.status_code == 200
    assert read.headers["x-auth-request-user"] == "alice"
    assert_problem(write, 403, "insufficient-scope")  # POST /pings needs probe:write
    assert public.status_code == 200
    assert "x-auth-request-user" not in public.headers
    assert_problem(unknown, 404, "not-found")
    assert_problem(method, 405, "method-not-allowed")


async def test_satisfy_any_needs_one_of_the_scopes(stack: Stack) -> None:
    async with stack.client() as client:
        any_of = await client.get(
            "/auth/ingress?scope=probe:write&scope=probe:read&satisfy=any", headers=stack.bearer("probe:read")
        )
        all_of = await client.get(
            "/auth/ingress?scope=probe:write&scope=probe:read", headers=stack.bearer("probe:read")
        )
    assert any_of.status_code == 200
    assert_problem(all_of, 403, "insufficient-scope")


async def test_a_revoked_token_is_refused_by_the_ingress_too(stack: Stack) -> None:
    import time

    from harness import eventually

    jti = "ingress-" + str(time.time_ns())
    exp = int(time.time()) + 600
    headers = stack.bearer("probe:read", jti=jti, exp=exp)
    async with stack.client() as client:
        assert (await client.get("/auth/ingress?scope=probe:read", headers=headers)).status_code == 200
        await stack.publish_revocation(jti, exp)

        async def refused() -> bool:
            return (await client.get("/auth/ingress?scope=probe:read", headers=headers)).status_code == 401

        await eventually(refused, timeout=10)


async def test_the_ingress_endpoint_is_off_unless_enabled(stack: Stack) -> None:
    gateway = await stack.start_gateway(ingress_auth=False)  # proxy mode: nobody should ask it
    async with stack.client(gateway.url) as client:
        response = await client.get("/auth/ingress?scope=probe:read", headers=stack.bearer("probe:read"))
    assert_problem(response, 404, "not-found")
