"""The gateway with the real auth service behind it, on real TCP ports: one origin (discovery, token,
login page and admin API reached through the gateway), a probe trusting the auth service's keys, and the
ways tests sign in (robots by client credentials, people through the login page).

Named apart from ``conftest`` on purpose (several test folders have a conftest.py)."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from authlib.common.security import generate_token
from gateway_stack import Stack
from gateway_support import ECHO_SPEC, ROUTED_PROBE, LocalServer
from probe_service.app import create_app as create_probe
from probe_service.spec import SPEC as PROBE_SPEC
from spicadb_auth.app import create_app as create_auth
from spicadb_auth.config import AuthSettings
from spicadb_auth.spec import SPEC as AUTH_SPEC
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.sessions import AsyncOAuth2Client
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import free_port
from spicadb_kit.runtime.serve import HttpLimits
from spicadb_kit.settings import Environment, ServiceSettings
from spicadb_kit.spec import GatewayRoute
from spicadb_kit.testing.services import migrate, role_dsn

# the echo upstream as a service robots use: the DRS pushes files, readers read
ECHO_OIFITS = dataclasses.replace(
    ECHO_SPEC,
    routes=(
        GatewayRoute("/echo/upload", methods=("POST", "PUT"), scopes=("oifits:push",), max_body_bytes=2**30),
        GatewayRoute("/echo", scopes=("oifits:read",)),
    ),
)
FRONTEND_REDIRECT = "http://127.0.0.1:5173/callback"
GATEWAY_CLIENT = "spica-gateway"
_FORM_ACTION = re.compile(r'<form method=post action="([^"]*)"')
_CSRF_FIELD = re.compile(r'name=csrf_token value="([^"]*)"')


async def sign_in(browser: httpx.AsyncClient, page_url: str, username: str, password: str) -> httpx.Response:
    """Fill in the auth service's login page as a person would; the answer is its redirect."""
    page = await browser.get(page_url)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html"), page.headers
    action, csrf = _FORM_ACTION.search(page.text), _CSRF_FIELD.search(page.text)
    assert action, page.text
    assert csrf, page.text
    answer = await browser.post(
        urljoin(page_url, unescape(action[1])),
        data={"username": username, "password": password, "csrf_token": unescape(csrf[1])},
    )
    assert answer.status_code in (302, 303), answer.text
    return answer


@dataclass
class Platform:
    stack: Stack
    url: str
    auth: LocalServer
    probe: LocalServer
    gateway: LocalServer
    data: Path

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.data / "credentials.json").read_text()))

    def settings(self, **overrides: Any) -> Any:
        values = {
            "token_issuer": self.url,
            "public_url": self.url,
            "jwks_url": self.auth.url + "/.well-known/jwks.json",
            "upstreams": f"probe={self.probe.url},echo={self.stack.echo_server.url},auth={self.auth.url}",
            # the auth service hashes passwords and signs tokens: slow on a loaded machine, never stuck
            "upstream_timeout": 30.0,
        }
        return self.stack.settings(**{**values, **overrides})

    async def start_gateway(self, port: int | None = None, **overrides: Any) -> LocalServer:
        app = create_gateway(
            self.settings(**overrides), specs=[ROUTED_PROBE, ECHO_OIFITS, AUTH_SPEC, GATEWAY_SPEC]
        )
        settings = self.settings(**overrides)
        server = await LocalServer(app, port, settings=settings, limits=HttpLimits()).start()
        self.stack.extra_gateways.append(server)
        return server

    def browser(self, base: str | None = None, cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=base or self.url, timeout=30, follow_redirects=False, cookies=cookies
        )

    def oauth(self, client_id: str, secret: str | None, **kwargs: Any) -> AsyncOAuth2Client:
        if secret is None:
            kwargs.update(token_endpoint_auth_method="none", code_challenge_method="S256")
        return AsyncOAuth2Client(client_id, secret, timeout=30, **kwargs)

    async def robot_token(self, name: str) -> dict[str, Any]:
        creds = self.credentials()["clients"][name]
        async with self.oauth(creds["client_id"], creds["client_secret"]) as client:
            return dict(await client.fetch_token(self.url + "/oauth/token", grant_type="client_credentials"))

    async def admin_token(self) -> str:
        """The admin, through the frontend's public client (code + PKCE), all via the gateway."""
        admin = self.credentials()["users"]["admin"]
        async with self.oauth(
            "spica-frontend", None, redirect_uri=FRONTEND_REDIRECT, scope="openid admin"
        ) as client:
            verifier = generate_token(48)
            url, state = client.create_authorization_url(
                self.url + "/oauth/authorize", code_verifier=verifier
            )
            async with self.browser() as browser:
                answer = await sign_in(browser, url, admin["username"], admin["password"])
            token = await client.fetch_token(
                self.url + "/oauth/token",
                authorization_response=answer.headers["location"],
                code_verifier=verifier,
                state=state,
            )
        return str(token["access_token"])

    async def browser_session(
        self, browser: httpx.AsyncClient, next_path: str = "/auth", gateway_url: str | None = None
    ) -> httpx.Response:
        """A person signs in through the gateway's /auth/login; returns the gateway's last redirect."""
        admin = self.credentials()["users"]["admin"]
        start = await browser.get(f"/auth/login?next={next_path}")
        assert start.status_code == 302, start.text
        answer = await sign_in(browser, start.headers["location"], admin["username"], admin["password"])
        location = answer.headers["location"]
        assert location.startswith((gateway_url or self.url) + "/auth/callback?"), location
        done = await browser.get(location)
        assert done.status_code == 302, done.text
        return done


@asynccontextmanager
async def open_platform(
    stack: Stack, data: Path, environment: Environment = "test", **gateway: Any
) -> AsyncIterator[Platform]:
    """The auth service, a probe and a gateway on the stack's database, all in ``environment``."""
    await migrate(stack.admin_dsn, [AUTH_SPEC])
    await provision(stack.js, [AUTH_SPEC, GATEWAY_SPEC])
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    auth_settings = AuthSettings(
        environment=environment,
        database_url=role_dsn(stack.admin_dsn, AUTH_SPEC.role),
        nats_url=stack.nats_url,
        token_issuer=url,  # tokens name the gateway, the one public origin
        data=str(data),
        outbox_poll_seconds=0.2,
    )
    auth = await LocalServer(create_auth(auth_settings)).start()
    # a probe that trusts the auth service's keys (the stack's trusts the test key)
    probe_settings = ServiceSettings(
        environment=environment,
        database_url=role_dsn(stack.admin_dsn, PROBE_SPEC.role),
        nats_url=stack.nats_url,
        token_issuer=url,
        jwks_url=auth.url + "/.well-known/jwks.json",
    )
    probe = await LocalServer(create_probe(probe_settings)).start()
    platform = Platform(stack, url, auth, probe, gateway=None, data=data)  # type: ignore[arg-type]
    # the auth service's first start registered the gateway's public client (PKCE) for <issuer>/auth/callback
    assert platform.credentials()["clients"]["gateway"]["redirect_uri"] == url + "/auth/callback"
    platform.gateway = await platform.start_gateway(port, environment=environment, **gateway)
    try:
        yield platform
    finally:
        await probe.stop()
        await auth.stop()
