"""Access tokens: only a well-formed RFC 9068 token from our issuer, for us, with the route's
scope, gets through; every refusal is a problem document with a Bearer challenge."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from kit_support import assert_problem, bearer
from litestar.testing import AsyncTestClient
from probe_service.app import create_app

from spicadb_kit.auth import Principal, TokenVerifier
from spicadb_kit.errors import Unauthorized
from spicadb_kit.testing.tokens import TokenFactory

if TYPE_CHECKING:
    from harness import Probe


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims(tokens: TokenFactory, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {
        "iss": tokens.issuer,
        "aud": tokens.audience,
        "sub": "alice",
        "client_id": "spica-frontend",
        "scope": "probe:read probe:write",
        "iat": now,
        "exp": now + 600,
        "jti": "t-1",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


# --- forged and malformed tokens -------------------------------------------------------------


def alg_none(tokens: TokenFactory) -> str:
    header = {"alg": "none", "typ": "at+jwt", "kid": tokens.key.kid}
    return f"{segment(header)}.{segment(claims(tokens))}."


def hmac_with_public_key(tokens: TokenFactory) -> str:
    """The key-confusion attack: HS256 keyed with the RSA public key everybody can download."""
    header = {"alg": "HS256", "typ": "at+jwt", "kid": tokens.key.kid}
    signing_input = f"{segment(header)}.{segment(claims(tokens, scope='admin'))}"
    secret = tokens.key.as_pem(private=False)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(signature)}"


def tampered_scope(tokens: TokenFactory) -> str:
    header, payload, signature = tokens.mint("probe:read").split(".")
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["scope"] = "probe:read probe:write admin"
    return f"{header}.{segment(decoded)}.{signature}"


def signed_by_another_key(tokens: TokenFactory) -> str:
    # claims the test key's kid, but signed by a key the issuer never published
    stranger = RSAKey.generate_key(2048, parameters={"kid": str(tokens.key.kid)})
    return tokens.mint("probe:write", key=stranger)


def without_client_id(tokens: TokenFactory) -> str:
    header = {"alg": "RS256", "typ": "at+jwt", "kid": tokens.key.kid}
    return jwt.encode(header, claims(tokens, client_id=None), tokens.key)


def without_kid(tokens: TokenFactory) -> str:
    header = {"alg": "RS256", "typ": "at+jwt"}
    return jwt.encode(header, claims(tokens), tokens.key)


def non_string_typ(tokens: TokenFactory) -> str:
    return f"{segment({'alg': 'RS256', 'typ': 5, 'kid': tokens.key.kid})}.{segment(claims(tokens))}.c2ln"


REJECTED: dict[str, Callable[[TokenFactory], str]] = {
    "garbage": lambda t: "garbage",
    "three garbage segments": lambda t: "a.b.c",
    "header is not json": lambda t: f"{b64url(b'not json')}.{segment(claims(t))}.c2ln",
    "header is a list": lambda t: f"{b64url(b'[1]')}.{segment(claims(t))}.c2ln",
    "header typ not a string": non_string_typ,
    "four segments": lambda t: t.mint("probe:write") + ".extra",
    "expired": lambda t: t.mint("probe:write", lifetime=-120),
    "not yet valid": lambda t: t.mint("probe:write", nbf=int(time.time()) + 300),
    "issued in the future": lambda t: t.mint("probe:write", iat=int(time.time()) + 300),
    "wrong issuer": lambda t: t.mint("probe:write", iss="https://evil.example"),
    "wrong audience": lambda t: t.mint("probe:write", aud="spicadb-other"),
    "alg none": alg_none,
    "hs256 keyed with the public key": hmac_with_public_key,
    "unknown kid": lambda t: t.mint("probe:write", header={"kid": "rotated-away"}),
    "no kid": without_kid,
    "signed by another key": signed_by_another_key,
    "tampered payload": tampered_scope,
    "typ JWT (an id token)": lambda t: t.mint("probe:write", header={"typ": "JWT"}),
    "missing client_id": without_client_id,
    "missing sub": lambda t: t.mint("probe:write", sub=None),
    "missing exp": lambda t: t.mint("probe:write", exp=None),
    "scope is a list": lambda t: t.mint(scope=["probe:write"]),
}


def assert_unauthorized(response: Any) -> dict[str, Any]:
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer"), response.headers
    assert body["type"].endswith(("/invalid-token", "/missing-token")), body
    return body


# --- through the probe's HTTP API --------------------------------------------------------------


async def test_valid_token_with_the_scope_is_served(probe: Probe) -> None:
    writer = probe.tokens.mint("probe:write")
    reader = probe.tokens.mint("probe:read")
    async with probe.running() as client:
        created = await client.post("/pings", json={"id": "t1", "sequence": 7}, headers=bearer(writer))
        fetched = await client.get("/pings/t1", headers=bearer(reader))
    assert created.status_code == 201, created.text
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["id"] == "t1"
    assert fetched.json()["sequence"] == 7


async def test_no_authorization_header_is_a_401_challenge(probe: Probe) -> None:
    async with probe.running() as client:
        response = await client.post("/pings", json={"id": "t1"})
    body = assert_unauthorized(response)
    assert response.headers["www-authenticate"] == "Bearer"
    assert body["type"].endswith("/missing-token")
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


@pytest.mark.parametrize("authorization", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer   ", "Token abc"])
async def test_non_bearer_scheme_is_a_401(probe: Probe, authorization: str) -> None:
    async with probe.running() as client:
        response = await client.get("/pings/t1", headers={"Authorization": authorization})
    body = assert_unauthorized(response)
    assert "Bearer <token>" in body["detail"]
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("case", list(REJECTED))
async def test_bad_token_is_a_401_and_writes_nothing(probe: Probe, case: str) -> None:
    token = REJECTED[case](probe.tokens)
    async with probe.running() as client:
        response = await client.post("/pings", json={"id": "t1"}, headers=bearer(token))
        read = await client.get("/pings/t1", headers=bearer(token))
    body = assert_unauthorized(response)
    assert_unauthorized(read)
    assert body["type"].endswith("/invalid-token")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


async def test_missing_scope_is_a_403_listing_the_required_scope(probe: Probe) -> None:
    reader = probe.tokens.mint("probe:read")
    writer = probe.tokens.mint("probe:write")
    async with probe.running() as client:
        post = await client.post("/pings", json={"id": "t1"}, headers=bearer(reader))
        get = await client.get("/pings/t1", headers=bearer(writer))
    body = assert_problem(post, 403)
    assert body["type"].endswith("/insufficient-scope")
    assert "probe:write" in body["detail"]
    assert body["required"] == ["probe:write"]
    assert 'error="insufficient_scope"' in post.headers["www-authenticate"]
    assert assert_problem(get, 403)["required"] == ["probe:read"]
    assert await probe.scalar("SELECT count(*) FROM ping") == 0


async def test_token_without_any_scope_is_a_403(probe: Probe) -> None:
    async with probe.running() as client:
        response = await client.get("/pings/t1", headers=bearer(probe.tokens.mint()))
    assert_problem(response, 403)


async def test_admin_scope_passes_every_guard(probe: Probe) -> None:
    admin = probe.tokens.mint("admin")
    async with probe.running() as client:
        created = await client.post("/pings", json={"id": "t1"}, headers=bearer(admin))
        fetched = await client.get("/pings/t1", headers=bearer(admin))
    assert created.status_code == 201, created.text
    assert fetched.status_code == 200, fetched.text


# --- directly on the verifier ------------------------------------------------------------------


async def test_verifier_returns_who_is_calling(tokens: TokenFactory) -> None:
    token = tokens.mint("probe:read", "probe:write", subject="bob", client_id="spica-robot", jti="j-42")
    principal = await tokens.verifier().verify(token)
    assert principal.subject == "bob"
    assert principal.client_id == "spica-robot"
    assert principal.scopes == {"probe:read", "probe:write"}
    assert principal.token_id == "j-42"
    assert principal.expires_at is not None
    assert principal.expires_at > time.time()
    assert principal.has("probe:read")
    assert principal.has("probe:read", "probe:write")
    assert not principal.has("probe:read", "programmes:write")


def test_admin_principal_has_every_scope() -> None:
    admin = Principal(subject="root", client_id="ops", scopes=frozenset({"admin"}))
    assert admin.has("anything:write", "other:read")


async def test_verifier_accepts_application_at_jwt_typ(tokens: TokenFactory) -> None:
    token = tokens.mint("probe:read", header={"typ": "application/at+jwt"})
    assert (await tokens.verifier().verify(token)).scopes == {"probe:read"}


async def test_audience_list_containing_ours_is_accepted(tokens: TokenFactory) -> None:
    token = tokens.mint("probe:read", aud=["spicadb-other", tokens.audience])
    assert (await tokens.verifier().verify(token)).subject == "alice"


async def test_clock_skew_within_leeway_is_tolerated(tokens: TokenFactory) -> None:
    now = int(time.time())
    skewed = tokens.mint("probe:read", iat=now + 10, nbf=now + 10)
    just_expired = tokens.mint("probe:read", iat=now - 100, nbf=now - 100, exp=now - 10)
    verifier = tokens.verifier()
    assert (await verifier.verify(skewed)).subject == "alice"
    assert (await verifier.verify(just_expired)).subject == "alice"
    strict = TokenVerifier(
        issuer=tokens.issuer,
        audience=tokens.audience,
        key_set=KeySet.import_key_set(tokens.jwks),  # type: ignore[arg-type]
        leeway=0,
    )
    with pytest.raises(Unauthorized, match="token expired"):
        await strict.verify(just_expired)


async def test_es256_tokens_are_accepted(tokens: TokenFactory) -> None:
    ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
    verifier = TokenVerifier(
        issuer=tokens.issuer,
        audience=tokens.audience,
        key_set=KeySet.import_key_set(KeySet([ec]).as_dict(private=False)),  # type: ignore[arg-type]
    )
    token = tokens.mint("probe:read", key=ec, header={"alg": "ES256", "kid": "ec-1"})
    assert (await verifier.verify(token)).scopes == {"probe:read"}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("garbage", "malformed token"),
        ("header typ not a string", "typ must be at+jwt"),
        ("expired", "token expired"),
        ("not yet valid", "not yet valid"),
        ("issued in the future", "issued in the future"),
        ("wrong issuer", "iss"),
        ("wrong audience", "aud"),
        ("alg none", "algorithm not accepted"),
        ("hs256 keyed with the public key", "algorithm not accepted"),
        ("unknown kid", "unknown signing key"),
        ("no kid", "no key id"),
        ("signed by another key", "token rejected"),
        ("tampered payload", "token rejected"),
        ("typ JWT (an id token)", "typ must be at+jwt"),
        ("missing client_id", "client_id"),
        ("scope is a list", "scope claim"),
    ],
)
async def test_verifier_says_why_a_token_is_refused(tokens: TokenFactory, case: str, reason: str) -> None:
    with pytest.raises(Unauthorized) as raised:
        await tokens.verifier().verify(REJECTED[case](tokens))
    assert reason in raised.value.detail
    assert raised.value.status == 401
    assert raised.value.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')


# --- key rotation through the issuer's JWKS ---------------------------------------------------


class JwksServer:
    """The issuer's JWKS endpoint: serves whatever key set the test sets, counts the fetches."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.fail = False
        self.fetches = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.fetches += 1
                if owner.fail:
                    self.send_error(503)
                    return
                body = json.dumps(owner.jwks).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def serve(self, *keys: Any) -> None:
        self.jwks = dict(KeySet(list(keys)).as_dict(private=False))


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()
    server.thread.join(timeout=5)


def jwks_verifier(tokens: TokenFactory, server: JwksServer, refresh_interval: float) -> TokenVerifier:
    return TokenVerifier(
        issuer=tokens.issuer, audience=tokens.audience, jwks_url=server.url, refresh_interval=refresh_interval
    )


@pytest.fixture(scope="module")
def key_b() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "test-2", "use": "sig", "alg": "RS256"})


async def test_rotated_key_is_picked_up_without_restart(
    probe: Probe, jwks_server: JwksServer, key_b: RSAKey
) -> None:
    tokens = probe.tokens
    jwks_server.serve(tokens.key)
    verifier = jwks_verifier(tokens, jwks_server, refresh_interval=0.3)
    token_a = tokens.mint("probe:write", "probe:read")
    token_b = tokens.mint("probe:write", "probe:read", key=key_b, header={"kid": key_b.kid})

    app = create_app(probe.settings(), verifier=verifier)
    async with AsyncTestClient(app) as client:
        first = await client.post("/pings", json={"id": "a1"}, headers=bearer(token_a))
        assert first.status_code == 201, first.text
        assert jwks_server.fetches == 1
        again = await client.get("/pings/a1", headers=bearer(token_a))
        assert again.status_code == 200, again.text
        assert jwks_server.fetches == 1  # known keys are not fetched again

        # the issuer starts signing with B before the service has heard of it
        assert_unauthorized(await client.get("/pings/a1", headers=bearer(token_b)))

        jwks_server.serve(tokens.key, key_b)
        await asyncio.sleep(0.35)
        rotated = await client.post("/pings", json={"id": "b1"}, headers=bearer(token_b))
        assert rotated.status_code == 201, rotated.text
        fetches = jwks_server.fetches
        # tokens signed with A are still good while the issuer publishes A
        still = await client.get("/pings/b1", headers=bearer(token_a))
        assert still.status_code == 200, still.text
        assert jwks_server.fetches == fetches


async def test_jwks_refresh_is_rate_limited(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    jwks_server.serve(tokens.key)
    verifier = jwks_verifier(tokens, jwks_server, refresh_interval=60)
    # unknown kids cost the sender nothing: they must not turn into a flood of JWKS fetches
    for kid in ("ghost-1", "ghost-2"):
        with pytest.raises(Unauthorized, match="unknown signing key"):
            await verifier.verify(tokens.mint("probe:read", header={"kid": kid}))
    assert jwks_server.fetches == 1
    # the one fetch brought the issuer's real key along
    assert (await verifier.verify(tokens.mint("probe:read"))).subject == "alice"
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await verifier.verify(tokens.mint("probe:read", header={"kid": "ghost-3"}))
    assert jwks_server.fetches == 1


async def test_concurrent_unknown_kids_share_one_fetch(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    jwks_server.serve(tokens.key)
    verifier = jwks_verifier(tokens, jwks_server, refresh_interval=60)
    # a fresh service: every request finds the key unknown at once
    principals = await asyncio.gather(*(verifier.verify(tokens.mint("probe:read")) for _ in range(10)))
    assert {p.subject for p in principals} == {"alice"}
    assert jwks_server.fetches == 1


async def test_issuer_outage_keeps_the_known_keys(tokens: TokenFactory, jwks_server: JwksServer) -> None:
    jwks_server.serve(tokens.key)
    verifier = jwks_verifier(tokens, jwks_server, refresh_interval=0)
    token = tokens.mint("probe:read")
    await verifier.verify(token)
    jwks_server.fail = True
    with pytest.raises(Unauthorized, match="unknown signing key"):
        await verifier.verify(tokens.mint("probe:read", header={"kid": "new-one"}))
    assert jwks_server.fetches == 2
    assert (await verifier.verify(token)).subject == "alice"
