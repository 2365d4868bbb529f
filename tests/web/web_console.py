"""The console against real services, on real TCP ports, as `make run` wires them: the auth service
(login page, tokens), programmes, nightlogs, obsportal (the L0 view), oifits (pushes, files, quick-looks)
and oidb (the L2/L3 granules), the web console, and the gateway
in front (browser sessions, the route policy with the console at `/`). One platform per environment and test session's
module; the gateway's origin is the one public origin (token issuer, the console's API base)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import nats
from authlib.common.security import generate_token
from gateway_platform import FRONTEND_REDIRECT, sign_in
from gateway_support import LocalServer
from nightlogs_support import csv_log, line
from spicadb_auth.app import create_app as create_auth
from spicadb_auth.config import AuthSettings
from spicadb_auth.spec import SPEC as AUTH_SPEC
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.sessions import AsyncOAuth2Client
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC
from spicadb_nightlogs.app import create_app as create_nightlogs
from spicadb_nightlogs.spec import SPEC as NIGHTLOGS_SPEC
from spicadb_obsportal.app import create_app as create_obsportal
from spicadb_obsportal.spec import SPEC as OBSPORTAL_SPEC
from spicadb_oidb.app import create_app as create_oidb
from spicadb_oidb.spec import SPEC as OIDB_SPEC
from spicadb_oifits.app import create_app as create_oifits
from spicadb_oifits.spec import SPEC as OIFITS_SPEC
from spicadb_programmes.app import create_app as create_programmes
from spicadb_programmes.spec import SPEC as PROGRAMMES_SPEC
from spicadb_web.app import create_app as create_web
from spicadb_web.config import WebSettings
from spicadb_web.services.console import last_night
from spicadb_web.spec import SPEC as WEB_SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer, PostgresCluster, free_port
from spicadb_kit.runtime.serve import HttpLimits
from spicadb_kit.settings import Environment
from spicadb_kit.spec import ServiceSpec
from spicadb_kit.testing.plugin import delete_all_streams
from spicadb_kit.testing.services import migrate, role_dsn

SPECS = [
    AUTH_SPEC, PROGRAMMES_SPEC, NIGHTLOGS_SPEC, OBSPORTAL_SPEC, OIFITS_SPEC, OIDB_SPEC, WEB_SPEC, GATEWAY_SPEC
]  # fmt: skip
SESSION_KEY = "web-console-tests-session-key-0123456789abcdef"
PASSWORD = "correct horse battery staple 42"


@dataclass
class Console:
    """The platform the console runs in: its public URL (the gateway's), and ways to sign in."""

    url: str
    data: Path
    servers: dict[str, LocalServer]

    def credentials(self) -> dict[str, Any]:
        return dict(json.loads((self.data / "credentials.json").read_text()))

    def admin(self) -> tuple[str, str]:
        admin = self.credentials()["users"]["admin"]
        return admin["username"], admin["password"]

    async def token(self, username: str, password: str, scope: str) -> str:
        """A person's access token through the frontend's public client (code + PKCE), via the gateway."""
        async with AsyncOAuth2Client(
            "spica-frontend", None, timeout=60, token_endpoint_auth_method="none",
            code_challenge_method="S256", redirect_uri=FRONTEND_REDIRECT, scope=scope,
        ) as client:  # fmt: skip
            verifier = generate_token(48)
            url, state = client.create_authorization_url(
                self.url + "/oauth/authorize", code_verifier=verifier
            )
            async with httpx.AsyncClient(base_url=self.url, timeout=60) as browser:
                answer = await sign_in(browser, url, username, password)
            token = await client.fetch_token(
                self.url + "/oauth/token",
                authorization_response=answer.headers["location"],
                code_verifier=verifier,
                state=state,
            )
        return str(token["access_token"])

    async def session(self, username: str, password: str) -> httpx.AsyncClient:
        """An httpx 'browser' holding a gateway session (signed in through /auth/login)."""
        browser = httpx.AsyncClient(base_url=self.url, timeout=60, follow_redirects=False)
        start = await browser.get("/auth/login?next=/")
        assert start.status_code == 302, start.text
        answer = await sign_in(browser, start.headers["location"], username, password)
        done = await browser.get(answer.headers["location"])
        assert done.status_code == 302, done.text
        return browser


@asynccontextmanager
async def open_console(
    pg_cluster: PostgresCluster,
    nats_server: NatsServer,
    data: Path,
    environment: Environment,
    *,
    extra_apis: Sequence[tuple[ServiceSpec, Callable[..., Any], Mapping[str, Any]]] = (),
    auth_overrides: Mapping[str, Any] | None = None,
) -> AsyncIterator[Console]:
    """``extra_apis``: more services behind the gateway (spec, app factory, their own settings);
    ``auth_overrides``: settings of the auth service (its tokens' lifetime)."""
    name = f"web_{uuid.uuid4().hex[:10]}"
    specs = [*SPECS, *(spec for spec, _, _ in extra_apis)]
    admin = await asyncpg.connect(pg_cluster.dsn())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    dsn = pg_cluster.dsn(name)
    await migrate(dsn, specs)
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await delete_all_streams(js)
    await provision(js, specs)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    common: dict[str, Any] = {
        "environment": environment,
        "nats_url": nats_server.url,
        "token_issuer": url,  # tokens name the gateway, the one public origin
        "outbox_poll_seconds": 0.2,
    }
    servers: dict[str, LocalServer] = {}
    try:
        auth = AuthSettings(
            database_url=role_dsn(dsn, AUTH_SPEC.role), data=str(data), **common, **(auth_overrides or {})
        )
        servers["auth"] = await LocalServer(create_auth(auth)).start()
        jwks = servers["auth"].url + "/.well-known/jwks.json"
        apis = (
            (PROGRAMMES_SPEC, create_programmes),
            (NIGHTLOGS_SPEC, create_nightlogs),
            (OBSPORTAL_SPEC, create_obsportal),  # the L0 view, kept from the night logs' events
            (OIFITS_SPEC, create_oifits),  # the DRS's pushes: files, rejections, quick-looks
            (OIDB_SPEC, create_oidb),  # the L2/L3 granules, kept from oifits' events
        )
        store = {OIFITS_SPEC.name: {"store_path": str(data / "oifits-store")}}
        for spec, factory, own in [*((s, f, store.get(s.name, {})) for s, f in apis), *extra_apis]:
            settings = spec.settings(database_url=role_dsn(dsn, spec.role), jwks_url=jwks, **common, **own)
            servers[spec.name] = await LocalServer(factory(settings)).start()  # type: ignore[operator]
        web = WebSettings(database_url=role_dsn(dsn, WEB_SPEC.role), jwks_url=jwks, public_url=url, **common)
        servers["web"] = await LocalServer(create_web(web)).start()
        gateway = GatewaySettings(
            database_url=role_dsn(dsn, GATEWAY_SPEC.role),
            jwks_url=jwks,
            public_url=url,
            upstreams=",".join(f"{n}={s.url}" for n, s in servers.items()),
            upstream_timeout=30.0,
            session_key=SESSION_KEY,
            data=str(data),
            rate_limit_rate=10_000.0,
            rate_limit_burst=100_000,
            revocation_poll_seconds=0.2,
            **common,
        )
        servers["gateway"] = await LocalServer(
            create_gateway(gateway, specs=specs), port, settings=gateway, limits=HttpLimits()
        ).start()
        yield Console(url, data, servers)
    finally:
        for server in reversed(list(servers.values())):
            await server.stop()
        await nc.close()
        admin = await asyncpg.connect(pg_cluster.dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def seed(console: Console) -> dict[str, str]:
    """LP-1 led by the admin with 120 targets in two work packages; bob, an astronomer of no programme;
    nora, a person with no role;
    LP-2, a private programme bob may not see; last night's log with a bad observation. Returns the
    admin's token."""
    token = await console.token(*console.admin(), scope="openid admin")
    headers = {"Authorization": "Bearer " + token}
    async with httpx.AsyncClient(base_url=console.url, timeout=60, headers=headers) as api:
        made = await api.post("/admin/users", json={"username": "bob", "password": PASSWORD,
                                                    "roles": ["astronomer"]})  # fmt: skip
        assert made.status_code == 201, made.text
        made = await api.post("/admin/users", json={"username": "nora", "password": PASSWORD, "roles": []})
        assert made.status_code == 201, made.text
        for code in ("LP-1", "LP-2"):
            created = await api.post("/programmes/", json={"code": code, "title": f"Giants {code}"})
            assert created.status_code == 201, created.text
        for wp in ("WP1", "WP2"):
            added = await api.post(
                "/programmes/LP-1/work-packages", json={"code": wp, "title": f"Package {wp}"}
            )
            assert added.status_code == 201, added.text
        targets = [
            {"name": f"HD {1000 + k}", "ra": round(0.5 + 2.9 * k, 4), "dec": round(-40 + 0.6 * k, 4),
             "mag_v": round(4 + (k % 7) * 0.5, 2), "work_package": "WP1" if k % 2 else "WP2"}
            for k in range(120)
        ]  # fmt: skip
        imported = await api.post("/programmes/LP-1/targets/import", json=targets)
        assert imported.status_code in (200, 201), imported.text
        # last night's CHARA log: three observations, one of them flagged bad
        night = last_night()
        log = csv_log(*(line(star, hour, night=night) for star, hour in (("HD 1000", 3.0), ("HD 1001", 4.0),
                                                                          ("HD 9999", 5.0))))  # fmt: skip
        logged = await api.post(f"/nightlogs/logs/CHARA/{night.isoformat()}", content=log,
                                headers={"Content-Type": "text/csv"})  # fmt: skip
        assert logged.status_code == 201, logged.text
        flagged = await api.post(f"/nightlogs/observations/{logged.json()['added'][1]}/flags",
                                 json={"level": "bad", "comment": "clouds"})  # fmt: skip
        assert flagged.status_code == 201, flagged.text
    return {"token": token}
