"""The tap service with the owners of the views it publishes (oidb: ivoa.ObsCore and spicadb.links,
obsportal: obsportal.exposures, programmes: spicadb.targets) and the oifits service (its pushes fill oidb)
installed in ONE database, each on a real
port behind the real gateway (its route policy, tokens checked against a JWKS server with the test key),
as VO clients reach them: pyvo and stilts need a real URL, and the tap service's public URL (its
capabilities, the DataLink descriptors) is the gateway's, so ``<public_url>/oidb/links`` reaches oidb.

The callers: anonymous, a programme member (the PI of the programmes tests make), another user, an admin.
The events that fill the views are published as their producers publish them (the oifits files and
granules, the night-log observations and flags), and programmes are made through the programmes API
(whose relay announces them to every view's copy of the rights): so tests have proprietary and released
rows. Every server is stopped by the fixture that started it.

Named apart from ``conftest`` on purpose (several test folders have a conftest.py)."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import asyncpg
import httpx
import nats
from gateway_support import AUTH_STAND_IN, Jwks, LocalServer
from harness import eventually
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from oidb_support import granule, indexed
from spicadb_gateway.app import create_app as create_gateway
from spicadb_gateway.config import GatewaySettings
from spicadb_gateway.spec import SPEC as GATEWAY
from spicadb_obsportal.app import create_app as obsportal_app
from spicadb_obsportal.spec import SPEC as OBSPORTAL
from spicadb_oidb.app import create_app as oidb_app
from spicadb_oidb.spec import SPEC as OIDB
from spicadb_oifits.app import create_app as oifits_app
from spicadb_oifits.spec import SPEC as OIFITS
from spicadb_programmes.app import create_app as programmes_app
from spicadb_programmes.spec import SPEC as PROGRAMMES
from spicadb_tap.app import create_app as tap_app
from spicadb_tap.spec import SPEC as TAP

from spicadb_contracts.nightlogs import ObservationFlagged, ObservationLogged
from spicadb_contracts.oifits import FileIndexed, IndexedGranule
from spicadb_kit.events.provision import provision
from spicadb_kit.infra import PostgresCluster, free_port
from spicadb_kit.testing.plugin import delete_all_streams
from spicadb_kit.testing.services import InstalledService, migrate, role_dsn
from spicadb_kit.testing.tokens import TokenFactory

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "MEMBER",
    "OTHER",
    "VOTABLE",
    "TapPlatform",
    "granule",
    "indexed",
    "phase_of",
    "platform",
    "rows_of",
    "run_bounded",
    "votable_bytes",
]

# the callers (None: no token)
ANONYMOUS: str | None = None
MEMBER = "ada"  # the PI of every programme TapPlatform.programme makes (a member)
OTHER = "bob"  # a user of the platform, member of nothing
ADMIN = "root"  # scope admin: sees everything
SCOPES: dict[str, tuple[str, ...]] = {
    MEMBER: ("tap:query", "programmes:read", "programmes:write"),
    OTHER: ("tap:query", "programmes:read"),
    ADMIN: ("tap:query", "admin"),
}
VOTABLE = "application/x-votable+xml"
# the owners first: the tap service reads what they publish
OWNERS = {
    "oidb": (OIDB, oidb_app),
    "obsportal": (OBSPORTAL, obsportal_app),
    "programmes": (PROGRAMMES, programmes_app),
    # not an owner: its pushes fill oidb's granules (end to end)
    "oifits": (OIFITS, oifits_app),
}
SESSION_KEY = "tap-tests-session-key-0123456789abcdef"


def mjd(moment: datetime) -> float:
    return (moment - datetime(1858, 11, 17, tzinfo=UTC)).total_seconds() / 86400.0


class TapPlatform:
    """The services in one database, on real ports, behind one gateway (``url``); the tap service at
    ``tap_url``."""

    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory, js: JetStreamContext) -> None:
        self.admin_dsn = admin_dsn
        self.nats_url = nats_url
        self.tokens = tokens
        self.js = js
        self.services: dict[str, InstalledService] = {}
        self.servers: dict[str, LocalServer] = {}
        self.port = free_port()  # the gateway's: every service's public URL
        self.programmes_made = 0

    # --- where -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tap_url(self) -> str:
        return f"{self.url}/tap"

    def __getitem__(self, name: str) -> InstalledService:
        return self.services[name]

    # --- who ---------------------------------------------------------------------------------------

    def token(self, who: str) -> str:
        """An access token of ``who`` (MEMBER, OTHER, ADMIN, or any user name: read scope only)."""
        return self.tokens.mint(*SCOPES.get(who, ("tap:query",)), subject=who)

    def headers(self, who: str | None, *scopes: str) -> dict[str, str]:
        """The Authorization header of ``who`` (none for ANONYMOUS); ``scopes`` instead of the defaults."""
        if who is None:
            return {}
        token = self.tokens.mint(*scopes, subject=who) if scopes else self.token(who)
        return {"Authorization": f"Bearer {token}"}

    def client(self, who: str | None = None, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client of ``who`` on the gateway."""
        return httpx.AsyncClient(base_url=self.url, headers=self.headers(who), timeout=120, **kwargs)

    # --- starting and stopping ---------------------------------------------------------------------

    async def start(self, data: Path) -> None:
        """Migrate and provision every service (the owners before the tap service), then start the
        owners, the tap service, a JWKS server and the gateway."""
        for name, (spec, factory) in OWNERS.items():
            self.services[name] = InstalledService(
                spec, factory, self.admin_dsn, self.nats_url, self.tokens, self.js
            )
        self.services["tap"] = InstalledService(
            TAP, tap_app, self.admin_dsn, self.nats_url, self.tokens, self.js
        )
        for service in self.services.values():
            await service.install()
        await migrate(self.admin_dsn, [GATEWAY])
        await provision(self.js, [AUTH_STAND_IN, GATEWAY])
        for name, service in self.services.items():
            overrides: dict[str, Any] = {}
            if "public_url" in service.spec.settings.__struct_fields__:
                overrides["public_url"] = self.url
            if name == "tap":
                overrides["data"] = str(data / "tap")
            if name == "oifits":
                overrides["store_path"] = str(data / "oifits-store")
            app = service.create_app(service.settings(**overrides), verifier=self.tokens.verifier())
            self.servers[name] = await LocalServer(app).start()
        self.servers["jwks"] = await LocalServer(Jwks(self.tokens.jwks)).start()
        gateway = create_gateway(
            self.gateway_settings(), specs=[*(s.spec for s in self.services.values()), GATEWAY]
        )
        self.servers["gateway"] = await LocalServer(gateway, self.port).start()

    def gateway_settings(self) -> GatewaySettings:
        upstreams = ",".join(f"{name}={self.servers[name].url}" for name in self.services)
        return GatewaySettings(
            environment="test",
            database_url=role_dsn(self.admin_dsn, GATEWAY.role),
            nats_url=self.nats_url,
            token_issuer=self.tokens.issuer,
            token_audience=self.tokens.audience,
            jwks_url=self.servers["jwks"].url + "/.well-known/jwks.json",
            upstreams=upstreams,
            public_url=self.url,
            # taplint and the benchmarks send thousands of requests from one address
            rate_limit_rate=100_000.0,
            rate_limit_burst=1_000_000,
            upstream_timeout=120.0,
            outbox_poll_seconds=0.2,
            revocation_poll_seconds=0.5,
            session_key=SESSION_KEY,
        )

    async def stop(self) -> None:
        """Every server this platform started (the gateway first), then the services' pools."""
        for name in reversed(list(self.servers)):
            await self.servers.pop(name).stop()
        for service in self.services.values():
            await service.close()

    # --- filling the views -------------------------------------------------------------------------

    async def programme(
        self, code: str | None = None, *, months: int = 18, public: bool = False, members: Sequence[str] = ()
    ) -> str:
        """A programme made through the programmes API by MEMBER (its PI), ``members`` as viewers; its
        code (unique per call by default). Its rights reach every view's copy by the programmes' relay."""
        self.programmes_made += 1
        code = code or f"LP-{uuid.uuid4().hex[:6].upper()}"
        body = {
            "code": code,
            "title": f"Programme {code}",
            "public": public,
            "proprietary_months": months,
            "members": [{"username": m, "role": "viewer"} for m in members],
        }
        async with self.client(MEMBER) as client:
            response = await client.post("/programmes/", json=body)
            assert response.status_code == 201, response.text
        await self.known_everywhere(code)
        return code

    async def known_everywhere(self, code: str) -> None:
        """Wait until every view's copy of the rights knows programme ``code``."""

        async def known() -> bool:
            for name in ("oidb", "obsportal"):
                found = await self.services[name].scalar(
                    "SELECT count(*) FROM programme_rights WHERE code = $1", code
                )
                if not found:
                    return False
            return True

        await eventually(known, timeout=20)

    async def target(self, code: str, name: str, ra: float, dec: float) -> dict[str, Any]:
        """A target of programme ``code`` (through the programmes API, as its PI)."""
        async with self.client(MEMBER) as client:
            response = await client.post(
                f"/programmes/{code}/targets/", json={"name": name, "ra": ra, "dec": dec}
            )
            assert response.status_code == 201, response.text
            made: dict[str, Any] = response.json()
            return made

    async def push(self, *granules: IndexedGranule, size: int = 1_234_567) -> FileIndexed:
        """A file of ``granules`` indexed, as the oifits service announces it (oidb consumes it)."""
        event = indexed(*granules, size=size)
        await self.services["oidb"].publish(event, str(event.file_id))
        return event

    async def observe(
        self,
        target: str,
        ra: float,
        dec: float,
        *,
        programme: str | None,
        start: datetime,
        observation_id: uuid.UUID | None = None,
        **extra: Any,
    ) -> ObservationLogged:
        """An observation logged, as the night logs announce it (the L0 view consumes it)."""
        values: dict[str, Any] = {
            "observation_id": observation_id or uuid.uuid4(),
            "site": "CHARA",
            "night": (start - timedelta(hours=12)).date(),
            "log_version": 1,
            "target_name": target,
            "mode": "LR",
            "stations": ["E1", "W2", "W1", "S2", "S1", "E2"],
            "mjd_start": mjd(start),
            "mjd_end": mjd(start + timedelta(minutes=20)),
            "logged_at": datetime.now(UTC),
            "programme": programme,
            "ra": ra,
            "dec": dec,
            "matched_by": "name" if programme else "none",
            "em_min": 6e-07,
            "em_max": 9e-07,
            "resolving_power": 150.0,
            **extra,
        }
        event = ObservationLogged(**values)
        await self.services["obsportal"].publish(event, str(event.observation_id))
        return event

    async def flag(self, observation_id: uuid.UUID, level: str, programme: str | None = None) -> None:
        """A quality flag on an observation, as the night logs announce it (oidb's quality follows)."""
        event = ObservationFlagged(
            observation_id=observation_id, level=level, previous_level="unknown", reasons=["seeing"], comment="",
            flagged_by="night-astronomer", flagged_at=datetime.now(UTC), programme=programme,
        )  # fmt: skip
        await self.services["obsportal"].publish(event, str(observation_id))

    async def settled(self) -> None:
        """Wait until every consumer of every service has handled all it was given."""

        async def drained() -> bool:
            for service in self.services.values():
                if not await service.drained():
                    return False
            return True

        await eventually(drained, timeout=30)

    # --- asking ------------------------------------------------------------------------------------

    async def sync(self, query: str, who: str | None = None, **params: Any) -> httpx.Response:
        """POST /tap/sync (LANG=ADQL) as ``who``."""
        form = {"LANG": "ADQL", "QUERY": query, **{k.upper(): str(v) for k, v in params.items()}}
        async with self.client(who) as client:
            return await client.post("/tap/sync", data=form)

    async def rows(self, query: str, who: str | None = None, **params: Any) -> list[dict[str, Any]]:
        """The rows of a sync query as ``who`` (it must succeed)."""
        response = await self.sync(query, who, **params)
        assert response.status_code == 200, response.text
        return rows_of(response.content)

    async def upload(
        self, query: str, tables: dict[str, Any], who: str | None = None, **params: Any
    ) -> httpx.Response:
        """POST /tap/sync as multipart, each of ``tables`` (name -> astropy Table) an inline UPLOAD
        (``UPLOAD=name,param:name``), as pyvo sends them."""
        form = {"LANG": "ADQL", "QUERY": query, **{k.upper(): str(v) for k, v in params.items()}}
        form["UPLOAD"] = ";".join(f"{name},param:{name}" for name in tables)
        files = {name: (f"{name}.xml", votable_bytes(table), VOTABLE) for name, table in tables.items()}
        async with self.client(who) as client:
            return await client.post("/tap/sync", data=form, files=files)

    async def job(self, query: str, who: str | None = None, **params: Any) -> tuple[str, httpx.Response]:
        """An async job run to its end as ``who`` (POST /tap/async with PHASE=RUN, then WAIT): its URL
        (followed from the 303) and its last job document."""
        form = {
            "LANG": "ADQL",
            "QUERY": query,
            "PHASE": "RUN",
            **{k.upper(): str(v) for k, v in params.items()},
        }
        async with self.client(who) as client:
            created = await client.post("/tap/async", data=form)
            assert created.status_code == 303, created.text
            url = urljoin(f"{self.tap_url}/async", created.headers["location"])
            for _ in range(60):
                document = await client.get(url, params={"WAIT": "10"})
                assert document.status_code == 200, document.text
                if phase_of(document.text) in ("COMPLETED", "ERROR", "ABORTED"):
                    return url, document
        raise AssertionError(f"job {url} still {phase_of(document.text)}")


def phase_of(job: str) -> str:
    """A UWS job document's phase."""
    found = re.search(r"<uws:phase>\s*([A-Z]+)\s*</uws:phase>", job)
    return found[1] if found else ""


def votable_bytes(table: Any) -> bytes:
    """An astropy Table as a VOTable document (TABLEDATA)."""
    from astropy.io.votable import from_table

    out = io.BytesIO()
    from_table(table).to_xml(out)
    return out.getvalue()


def rows_of(votable: bytes) -> list[dict[str, Any]]:
    """A VOTable's first table as dicts (astropy; masked cells None)."""
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = parse(io.BytesIO(votable)).get_first_table().to_table()
    out = []
    for row in table:
        values = {}
        for name in table.colnames:
            value = row[name]
            masked = getattr(value, "mask", False) is True or str(value) == "--"
            values[name] = None if masked else (value.item() if hasattr(value, "item") else value)
        out.append(values)
    return out


@asynccontextmanager
async def platform(
    cluster: PostgresCluster, nats_url: str, tokens: TokenFactory, data: Path
) -> AsyncIterator[TapPlatform]:
    """A TapPlatform in a database of its own (dropped after), with a clean JetStream."""
    name = f"tap_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(cluster.dsn())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    nc: NATS = await nats.connect(nats_url)
    js = nc.jetstream()
    await delete_all_streams(js)
    made = TapPlatform(cluster.dsn(name), nats_url, tokens, js)
    try:
        await made.start(data)
        yield made
    finally:
        await made.stop()
        await nc.close()
        admin = await asyncpg.connect(cluster.dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def run_bounded(*command: str, timeout: float) -> tuple[int | None, str]:
    """A command's exit status and output (stdout and stderr), in a process of its own that is killed by
    its pid when it outlives ``timeout`` (status None then), without blocking the event loop that serves
    the platform."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), timeout)
        return process.returncode, out.decode(errors="replace")
    except TimeoutError:
        process.kill()
        out, _ = await process.communicate()
        return None, out.decode(errors="replace")
