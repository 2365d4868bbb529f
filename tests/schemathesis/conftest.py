"""Fixtures of the schemathesis tests: each service served once per module (see fuzz_support)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from html import unescape
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fuzz_support import Served, Target, admin_headers, database, install, kit_service

from spicadb_kit.infra import NatsServer, PostgresCluster, free_port
from spicadb_kit.testing.services import role_dsn
from spicadb_kit.testing.tokens import TokenFactory

FRONTEND = "spica-frontend"
FRONTEND_REDIRECT = "http://127.0.0.1:5173/callback"


@pytest.fixture(scope="module")
def programmes_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> Iterator[Target]:
    from spicadb_programmes.app import create_app
    from spicadb_programmes.spec import SPEC

    with kit_service(SPEC, create_app, pg_cluster, nats_server, tokens) as served:
        headers = admin_headers(tokens)
        with httpx.Client(base_url=served.url, headers=headers, timeout=30) as http:
            programme = {"code": "LP-1", "title": "Programme LP-1", "public": False, "members": []}
            assert http.post("/programmes/", json=programme).status_code == 201
            target = http.post("/programmes/LP-1/targets", json={"name": "HD 1", "ra": 10.0, "dec": 20.0})
            assert target.status_code == 201, target.text
        yield Target(served.url, headers, {"code": "LP-1", "target_id": str(target.json()["id"])})


@pytest.fixture(scope="module")
def nightlogs_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> Iterator[Target]:
    from spicadb_nightlogs.app import create_app
    from spicadb_nightlogs.spec import SPEC

    with kit_service(SPEC, create_app, pg_cluster, nats_server, tokens) as served:
        yield Target(served.url, admin_headers(tokens), {"site": "CHARA", "night": "2026-05-14"})


@pytest.fixture(scope="module")
def obsportal_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> Iterator[Target]:
    from spicadb_obsportal.app import create_app
    from spicadb_obsportal.spec import SPEC

    with kit_service(SPEC, create_app, pg_cluster, nats_server, tokens) as served:
        yield Target(served.url, admin_headers(tokens))


@pytest.fixture(scope="module")
def oifits_api(
    pg_cluster: PostgresCluster,
    nats_server: NatsServer,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    from spicadb_oifits.app import create_app
    from spicadb_oifits.spec import SPEC

    store: Path = tmp_path_factory.mktemp("oifits-store")
    with kit_service(
        SPEC,
        create_app,
        pg_cluster,
        nats_server,
        tokens,
        store_path=str(store),
        public_url="http://127.0.0.1:8000",
    ) as served:
        yield Target(served.url, admin_headers(tokens))


@pytest.fixture(scope="module")
def oidb_api(pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory) -> Iterator[Target]:
    from spicadb_oidb.app import create_app
    from spicadb_oidb.spec import SPEC

    with kit_service(SPEC, create_app, pg_cluster, nats_server, tokens) as served:
        yield Target(served.url, admin_headers(tokens))


@pytest.fixture(scope="module")
def tap_api(
    pg_cluster: PostgresCluster,
    nats_server: NatsServer,
    tokens: TokenFactory,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Target]:
    from spicadb_tap.app import create_app
    from spicadb_tap.spec import SPEC

    data: Path = tmp_path_factory.mktemp("tap-data")
    with kit_service(
        SPEC, create_app, pg_cluster, nats_server, tokens, data=str(data), public_url="http://127.0.0.1:8000"
    ) as served:
        yield Target(served.url, admin_headers(tokens))


@contextmanager
def auth_service(
    pg_cluster: PostgresCluster, nats_server: NatsServer, data: Path
) -> Iterator[tuple[Served, dict[str, str]]]:
    """The auth service served on a free port (its issuer), and an admin's headers: a token it issued
    through the browser flow (code + PKCE, the frontend client) to the first admin."""
    from spicadb_auth.app import create_app
    from spicadb_auth.config import AuthSettings
    from spicadb_auth.spec import SPEC

    with database(pg_cluster) as admin_dsn:
        install(admin_dsn, nats_server.url, SPEC)
        port = free_port()
        settings = AuthSettings(
            environment="test",
            database_url=role_dsn(admin_dsn, SPEC.role),
            nats_url=nats_server.url,
            token_issuer=f"http://127.0.0.1:{port}",
            data=str(data),
            outbox_poll_seconds=0.2,
            access_token_lifetime=3600,
        )
        with Served(create_app(settings), port) as served:
            password = json.loads((data / "credentials.json").read_text())["users"]["admin"]["password"]
            yield served, {"Authorization": f"Bearer {sign_in(served.url, 'admin', password)}"}


def sign_in(issuer: str, username: str, password: str) -> str:
    """An access token with the admin scope, by authorization code + PKCE through the frontend client."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": FRONTEND,
        "redirect_uri": FRONTEND_REDIRECT,
        "scope": "admin",
        "state": "fuzz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    with httpx.Client(base_url=issuer, follow_redirects=False, timeout=30) as http:
        page = http.get("/oauth/authorize", params=query)
        action, csrf = (
            re.search(r'<form method=post action="([^"]*)"', page.text),
            re.search(r'name=csrf_token value="([^"]*)"', page.text),
        )
        assert action, page.text
        assert csrf, page.text
        fields = {"username": username, "password": password, "csrf_token": unescape(csrf[1])}
        answer = http.post(unescape(action[1]), data=fields)
        assert answer.status_code == 302, answer.text
        code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
        token = http.post(
            "/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": FRONTEND_REDIRECT,
                "client_id": FRONTEND,
                "code_verifier": verifier,
            },
        )
        assert token.status_code == 200, token.text
        return str(token.json()["access_token"])


@pytest.fixture(scope="module")
def auth_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    with auth_service(pg_cluster, nats_server, tmp_path_factory.mktemp("auth")) as (served, headers):
        yield Target(served.url, headers, {"client_id": "drs", "username": "admin"})


@pytest.fixture(scope="module")
def auth_api_alone(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    """An auth service of its own for the operations that disable, rotate or revoke, so they cannot
    break the token of the general run (their own admin's token survives them: the sign-in clients,
    one's own account and the last admin cannot be disabled or demoted)."""
    with auth_service(pg_cluster, nats_server, tmp_path_factory.mktemp("auth-alone")) as (served, headers):
        yield Target(served.url, headers, {"client_id": "drs", "username": "admin"})


@pytest.fixture(scope="module")
def gateway_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> Iterator[Target]:
    """The gateway's own routes (sessions, whoami, the ingress check), with no service behind it."""
    from spicadb_auth.spec import SPEC as AUTH
    from spicadb_gateway.app import create_app
    from spicadb_gateway.config import GatewaySettings
    from spicadb_gateway.spec import SPEC

    with database(pg_cluster) as admin_dsn:
        install(admin_dsn, nats_server.url, SPEC, producers=(AUTH,))
        settings = GatewaySettings(
            environment="test",
            database_url=role_dsn(admin_dsn, SPEC.role),
            nats_url=nats_server.url,
            token_issuer=tokens.issuer,
            token_audience=tokens.audience,
            outbox_poll_seconds=0.2,
            rate_limit_rate=10_000.0,
            rate_limit_burst=100_000,
            ingress_auth=True,
            session_key="schemathesis-session-key-0123456789abcdef",
        )
        with Served(create_app(settings, verifier=tokens.verifier(), specs=[])) as served:
            yield Target(served.url, admin_headers(tokens))
