"""The auth service installed against the session's real PostgreSQL and NATS, run in-process,
and the browser and OAuth-client moves the tests make (authlib's own httpx client plays the
client application; nothing of ours stands in for it)."""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
from authlib.common.security import generate_token
from authlib.deprecate import AuthlibDeprecationWarning
from litestar.testing import AsyncTestClient
from litestar.testing.transport import TestClientTransport
from nats.js import JetStreamContext
from spicadb_auth.app import create_app
from spicadb_auth.config import AuthSettings
from spicadb_auth.spec import SPEC

from spicadb_kit.auth import TokenVerifier
from spicadb_kit.events.provision import provision
from spicadb_kit.testing.services import migrate, role_dsn, service_pool

with warnings.catch_warnings():
    # authlib 1.9 prefers the httpx2 fork and warns when it finds httpx (the pinned client)
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client

ISSUER = "http://127.0.0.1:8000"
FRONTEND = "spica-frontend"
FRONTEND_REDIRECT = "http://127.0.0.1:5173/callback"
REVOKED_EVENT = "org.jmmc.spicadb.auth.token.revoked.v1"

_FORM_ACTION = re.compile(r'<form method=post action="([^"]*)"')
_CSRF = re.compile(r'name=csrf_token value="([^"]*)"')
_UPSTREAM = re.compile(r'<a class=upstream href="([^"]*)"')


class _FromPeer(TestClientTransport[Any]):
    """Litestar's test transport, with the peer address a server would see on its socket."""

    def __init__(self, client: AsyncTestClient[Any], peer: str) -> None:
        super().__init__(client=client)
        self.peer = peer

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        scope = dict(super().parse_request(request))
        scope["client"] = (self.peer, 43210)
        return scope


class InProcess(httpx.AsyncBaseTransport):
    """An httpx transport to an app run by a litestar test client (its lifespan, its loop);
    ``peer``: the client address the app sees (litestar's default is "testclient")."""

    def __init__(self, client: AsyncTestClient[Any], peer: str | None = None) -> None:
        self._inner: TestClientTransport[Any] = (
            _FromPeer(client, peer) if peer else TestClientTransport(client=client)  # type: ignore[arg-type]
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(request)


class LoginForm:
    """The login page as a browser sees it: where the form posts, and its CSRF token."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code in (200, 401, 403, 429), response.text
        assert response.headers["content-type"].startswith("text/html"), response.headers
        html = response.text
        action, csrf = _FORM_ACTION.search(html), _CSRF.search(html)
        assert action, html
        assert csrf, html
        self.action = unescape(action[1])
        self.csrf = unescape(csrf[1])
        upstream = _UPSTREAM.search(html)
        self.upstream = unescape(upstream[1]) if upstream else None
        self.html = html

    def fields(self, username: str, password: str) -> dict[str, str]:
        return {"username": username, "password": password, "csrf_token": self.csrf}


class AuthService:
    """One auth service: its database, data folder and settings; ``running()`` starts it."""

    def __init__(self, admin_dsn: str, nats_url: str, data: Path, issuer: str = ISSUER) -> None:
        self.admin_dsn = admin_dsn
        self.nats_url = nats_url
        self.data = data
        self.issuer = issuer
        self.dsn = role_dsn(admin_dsn, SPEC.role)
        self.pool: asyncpg.Pool | None = None

    def settings(self, **overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": self.dsn,
            "nats_url": self.nats_url,
            "token_issuer": self.issuer,
            "data": str(self.data),
            "outbox_poll_seconds": 0.2,
            "key_check_seconds": 0.5,
        }
        values.update(overrides)
        return AuthSettings(**values)

    async def install(self, js: JetStreamContext) -> None:
        await migrate(self.admin_dsn, [SPEC])
        await provision(js, [SPEC])
        self.pool = await service_pool(self.admin_dsn, SPEC)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    @asynccontextmanager
    async def running(
        self, upstream_transport: httpx.AsyncBaseTransport | None = None, **overrides: Any
    ) -> AsyncIterator[Browser]:
        app = create_app(self.settings(**overrides), upstream_transport=upstream_transport)
        async with AsyncTestClient(app, base_url=self.issuer) as client:
            client.follow_redirects = False
            yield Browser(self, client)

    # --- looking at the database --------------------------------------------------------------

    @property
    def credentials_file(self) -> Path:
        return self.data / "credentials.json"

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads(self.credentials_file.read_text()))

    async def scalar(self, sql: str, *args: Any) -> Any:
        assert self.pool is not None
        return await self.pool.fetchval(sql, *args)

    async def rows(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        assert self.pool is not None
        return list(await self.pool.fetch(sql, *args))

    async def resource_server(self, client_id: str = "resource-server") -> tuple[str, str]:
        """A confidential client with the introspection right (as an admin registers one for a
        resource server), written straight into the database: no sign-in, no cookie changed."""
        from spicadb_auth.models import digest, new_secret

        secret = new_secret()
        assert self.pool is not None
        await self.pool.execute(
            "INSERT INTO client (client_id, secret_hash, scopes, grant_types)"
            " VALUES ($1, $2, '{token:introspect}', '{client_credentials}')"
            " ON CONFLICT (client_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash",
            client_id,
            digest(secret),
        )
        return client_id, secret

    async def audit_count(self) -> int:
        return int(await self.scalar("SELECT count(*) FROM audit"))

    async def outbox_types(self) -> list[str]:
        return [r["event_type"] for r in await self.rows("SELECT event_type FROM outbox ORDER BY id")]


class Browser:
    """A running auth service with the test client as its browser (it keeps cookies)."""

    def __init__(self, service: AuthService, http: AsyncTestClient[Any]) -> None:
        self.service = service
        self.http = http
        self.issuer = service.issuer

    def url(self, path: str) -> str:
        return self.issuer + path

    def transport(self) -> httpx.AsyncBaseTransport:
        """Requests to this in-process service (for authlib's client, or another service)."""
        return InProcess(self.http)

    @asynccontextmanager
    async def from_peer(self, address: str) -> AsyncIterator[httpx.AsyncClient]:
        """Another browser, connecting from ``address`` (as the service's socket sees it)."""
        async with httpx.AsyncClient(
            transport=InProcess(self.http, peer=address), base_url=self.issuer, follow_redirects=False
        ) as client:
            yield client

    def oauth_client(
        self, client_id: str, client_secret: str | None = None, **kwargs: Any
    ) -> AsyncOAuth2Client:
        if client_secret is None:
            kwargs.setdefault("token_endpoint_auth_method", "none")
            kwargs.setdefault("revocation_endpoint_auth_method", "none")
            kwargs.setdefault("code_challenge_method", "S256")
        return AsyncOAuth2Client(client_id, client_secret, transport=self.transport(), **kwargs)

    def robot(self, name: str) -> AsyncOAuth2Client:
        creds = self.service.credentials()["clients"][name]
        return self.oauth_client(creds["client_id"], creds["client_secret"])

    async def robot_token(self, name: str, **kwargs: Any) -> dict[str, Any]:
        async with self.robot(name) as client:
            return dict(
                await client.fetch_token(self.url("/oauth/token"), grant_type="client_credentials", **kwargs)
            )

    def admin_password(self) -> str:
        return str(self.service.credentials()["users"]["admin"]["password"])

    async def jwks(self) -> dict[str, Any]:
        response = await self.http.get("/.well-known/jwks.json")
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def verifier(self) -> TokenVerifier:
        """The kit's verifier, as a SPICA-DB service runs it, with the JWKS as published now."""
        from joserfc.jwk import KeySet

        settings = self.service.settings()
        return TokenVerifier(
            issuer=settings.token_issuer,
            audience=settings.token_audience,
            key_set=KeySet.import_key_set(await self.jwks()),  # type: ignore[arg-type]
        )

    async def sign_in_with_code(
        self,
        username: str,
        password: str,
        *,
        client_id: str = FRONTEND,
        redirect_uri: str = FRONTEND_REDIRECT,
        scope: str = "openid profile offline_access",
    ) -> dict[str, Any]:
        """The whole code + PKCE flow with authlib's client: authorize, log in, exchange the code
        (in a fresh browser: no session cookie left from an earlier sign-in)."""
        self.http.cookies.clear()
        async with self.oauth_client(client_id, redirect_uri=redirect_uri, scope=scope) as client:
            verifier = generate_token(48)
            url, state = client.create_authorization_url(self.url("/oauth/authorize"), code_verifier=verifier)
            form = LoginForm(await self.http.get(url))
            answer = await self.http.post(form.action, data=form.fields(username, password))
            assert answer.status_code == 302, answer.text
            location = answer.headers["location"]
            assert location.startswith(redirect_uri + "?"), location
            token = await client.fetch_token(
                self.url("/oauth/token"), authorization_response=location, code_verifier=verifier, state=state
            )
            return dict(token)

    async def admin_token_set(self) -> dict[str, Any]:
        """Access, refresh and ID tokens of the admin, through the frontend client."""
        return await self.sign_in_with_code(
            "admin", self.admin_password(), scope="openid profile offline_access admin"
        )

    async def admin_token(self) -> str:
        token = await self.sign_in_with_code("admin", self.admin_password(), scope="admin")
        return str(token["access_token"])

    async def admin(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers={"Authorization": f"Bearer {token}"}, **kwargs)


def query_of(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
