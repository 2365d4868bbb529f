"""`make run`: PostgreSQL, NATS and every installed service on local defaults, one data folder.

Order matters: the cluster and the broker first, then migrations and stream provisioning
(before any service binds its consumers), then the services, each in its own process.
Everything it starts it stops, by pid, in reverse order, on Ctrl-C or `spicadb stop`.

A service that dies is started again, after a delay that grows while it keeps dying (``RESTART_DELAYS``),
and says so on the run's output; endpoints.json counts its restarts and names its last exit, for
`spicadb status`.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import nats

from ..events.provision import provision
from ..infra import SUPERUSER, InfraError, NatsServer, PostgresCluster, pid_alive, port_open, stop_pid
from ..migrate import migrate_service
from ..settings import RuntimeSettings
from ..spec import ServiceSpec, discover_services

__all__ = [
    "CREDENTIALS_FILE",
    "ENDPOINTS_FILE",
    "PID_FILE",
    "RESTART_DELAYS",
    "Component",
    "Platform",
    "run",
    "running_pid",
    "stop",
]

PID_FILE = "run.pid"
ENDPOINTS_FILE = "endpoints.json"
CREDENTIALS_FILE = "credentials.json"
# seconds before a dead service is started again: by the deaths in a row (the last delay repeats), so that
# one failing at its start does not spin; a service that ran RESTART_STABLE_SECONDS starts the row again
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0)
RESTART_STABLE_SECONDS = 60.0


@dataclass
class Component:
    """One process of the local platform (PostgreSQL, NATS or a service) as the endpoints table shows it."""

    name: str
    url: str
    pid: int | None = None
    state: str = "starting"
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    spec: ServiceSpec | None = field(default=None, repr=False)
    restarts: int = 0
    # how its last process ended ("SIGKILL", "exit 1") and when (ISO 8601, UTC)
    last_exit: str | None = None
    last_exit_at: str | None = None
    started_at: float = field(default=0.0, repr=False)
    deaths_in_a_row: int = field(default=0, repr=False)
    restart_at: float | None = field(default=None, repr=False)

    def entry(self) -> dict[str, object]:
        """Its row of endpoints.json."""
        return {
            "url": self.url,
            "state": self.state,
            "pid": self.pid,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
        }


class Platform:
    """The local platform that ``spicadb run`` starts: PostgreSQL, NATS and every service, each in its own
    process, data under one folder."""

    def __init__(self, settings: RuntimeSettings, specs: list[ServiceSpec] | None = None) -> None:
        self.settings = settings
        self.data: Path = settings.data_path
        self.specs = specs if specs is not None else chosen_services(settings)
        self.postgres = PostgresCluster(
            self.data / "postgres", settings.pg_port, host=settings.host, bin_dir=settings.pg_bin_path
        )
        self.nats = NatsServer(
            self.data / "jetstream",
            settings.nats_port,
            settings.nats_monitor_port,
            host=settings.host,
            sync_interval=settings.nats_sync_interval,
        )
        self.components: dict[str, Component] = {}

    # --- files scripts rely on (runtime-contract.md) ---------------------------------

    @property
    def pid_file(self) -> Path:
        """Where the running platform writes its pid, for ``spicadb stop``."""
        return self.data / PID_FILE

    def write_endpoints(self) -> None:
        """Write the endpoints table (name, URL, state, pid) for tools and tests to read, atomically."""
        table = {c.name: c.entry() for c in self.components.values()}
        tmp = self.data / (ENDPOINTS_FILE + ".tmp")
        tmp.write_text(json.dumps(table, indent=2) + "\n")
        tmp.replace(self.data / ENDPOINTS_FILE)

    def print_table(self) -> None:
        """Print the endpoints, and how to get a token when clients were bootstrapped."""
        width = max(len(n) for n in self.components) + 2
        print(f"\n{'name':<{width}}{'url':<46}state")
        for c in self.components.values():
            print(f"{c.name:<{width}}{c.url:<46}{c.state}")
        print(f"\nendpoints: {self.data / ENDPOINTS_FILE}    stop with Ctrl-C or `make stop`", flush=True)
        credentials = self.data / CREDENTIALS_FILE
        if credentials.exists():
            print(
                f"credentials: {credentials} (mode 0600); a token for the drs robot:\n"
                f'  curl -s -u "$(.venv/bin/spicadb credentials drs)" -d grant_type=client_credentials '
                f"{self.public_url()}/oauth/token",
                flush=True,
            )
        print(flush=True)

    # --- start ------------------------------------------------------------------------

    def database_url(self, user: str) -> str:
        """The URL of the platform's database for a role (trust authentication, local only)."""
        return f"postgresql://{user}@{self.settings.host}:{self.settings.pg_port}/{self.settings.pg_database}"

    def start_infrastructure(self) -> None:
        """Start PostgreSQL (creating the cluster the first time) and NATS."""
        self.data.mkdir(parents=True, exist_ok=True)
        if self.data.stat().st_mode & 0o001 == 0 and os.geteuid() == 0:
            self.data.chmod(0o755)  # the postgres user must reach its cluster inside
        if not self.postgres.initialized:
            print(f"initialising a PostgreSQL cluster in {self.postgres.data_dir}", flush=True)
            self.postgres.init()
        self.postgres.start()
        self.components["postgres"] = Component(
            "postgres", self.database_url(SUPERUSER), self.postgres.pid, "ready"
        )
        self.nats.start()
        self.components["nats"] = Component("nats", self.nats.url, self.nats.pid, "ready")

    async def prepare(self) -> None:
        """Database, migrations of every service, then streams and consumers."""
        admin = await asyncpg.connect(self.postgres.dsn("postgres"))
        try:
            name = self.settings.pg_database
            if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        conn = await asyncpg.connect(self.database_url(SUPERUSER))
        try:
            for spec in self.specs:
                tag = await migrate_service(conn, spec)
                print(f"  {spec.name}: schema {tag}", flush=True)
        finally:
            await conn.close()
        nc = await nats.connect(self.nats.url)
        try:
            await provision(nc.jetstream(), self.specs)
        finally:
            await nc.close()

    def service_port(self, spec: ServiceSpec) -> int:
        """A service's port: its variable (``SPICADB_<NAME>_PORT``) or its default."""
        return int(os.environ.get(spec.port_variable, spec.default_port))

    def url_of(self, spec: ServiceSpec) -> str:
        """A service's local URL."""
        return f"http://{self.settings.host}:{self.service_port(spec)}"

    def public_url(self) -> str:
        """What clients see: the gateway when there is one (it is also the token issuer)."""
        gateway = next((s for s in self.specs if s.name == "gateway"), None)
        port = self.service_port(gateway) if gateway else int(os.environ.get("SPICADB_GATEWAY_PORT", "8000"))
        return f"http://{self.settings.host}:{port}"

    def jwks_url(self) -> str:
        """Where services fetch the token signing keys."""
        # services fetch signing keys from auth directly, not through the gateway they sit behind
        auth = next((s for s in self.specs if s.name == "auth"), None)
        base = self.url_of(auth) if auth else self.public_url()
        return f"{base}/.well-known/jwks.json"

    def upstreams(self) -> str:
        """The gateway's upstream map: every other service's name and URL."""
        return ",".join(f"{s.name}={self.url_of(s)}" for s in self.specs if s.name != "gateway")

    def service_env(self, spec: ServiceSpec, port: int) -> dict[str, str]:
        """The environment a service process starts with: its port, database role, NATS, issuer,
        upstreams."""
        issuer = self.public_url()
        return {
            **os.environ,
            "SPICADB_ENVIRONMENT": self.settings.environment,
            "SPICADB_HOST": self.settings.host,
            "SPICADB_PORT": str(port),
            "SPICADB_DATABASE_URL": self.database_url(spec.role),
            "SPICADB_NATS_URL": self.nats.url,
            "SPICADB_TOKEN_ISSUER": os.environ.get("SPICADB_TOKEN_ISSUER", issuer),
            "SPICADB_JWKS_URL": os.environ.get("SPICADB_JWKS_URL", self.jwks_url()),
            "SPICADB_PUBLIC_URL": issuer,
            "SPICADB_UPSTREAMS": self.upstreams(),
            "SPICADB_DATA": str(self.data),
            **spec.extra_env,
        }

    def start_services(self) -> None:
        """Start every service in its own process, logging to its own file (a port in use is refused)."""
        logs = self.data / "logs"
        logs.mkdir(exist_ok=True)
        for spec in self.specs:
            port = self.service_port(spec)
            if port_open(self.settings.host, port):
                raise InfraError(f"{spec.name}: port {port} is in use (set {spec.port_variable})")
            url = f"http://{self.settings.host}:{port}"
            self.components[spec.name] = self.spawn(Component(spec.name, url, spec=spec))

    def spawn(self, component: Component) -> Component:
        """Start (or start again) a service's process on its component's port (a replica of a service
        has its own name and port), its output appended to the component's log."""
        assert component.spec is not None
        spec = component.spec
        port = urlsplit(component.url).port or self.service_port(spec)
        with open(self.data / "logs" / f"{component.name}.log", "ab") as log:
            component.proc = subprocess.Popen(
                [sys.executable, "-m", "spicadb_kit.runtime.cli", "serve", spec.name],
                env=self.service_env(spec, port),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        component.pid = component.proc.pid
        component.state = "starting"
        component.started_at = time.monotonic()
        return component

    async def wait_ready(self) -> bool:
        """Wait until every service is ready or exited, up to the ready timeout; whether all are
        ready."""
        deadline = time.monotonic() + self.settings.ready_timeout_seconds
        pending = [c for c in self.components.values() if c.proc is not None]
        async with httpx.AsyncClient(timeout=2) as client:
            while pending and time.monotonic() < deadline:
                for component in list(pending):
                    if await _ready(client, component):
                        component.state = "ready"
                        pending.remove(component)
                    elif component.proc is not None and component.proc.poll() is not None:
                        component.state = f"exited ({component.proc.returncode})"
                        pending.remove(component)
                await asyncio.sleep(0.2)
        for component in pending:
            component.state = "not ready"
        return all(c.state == "ready" for c in self.components.values())

    # --- supervision ------------------------------------------------------------------

    def supervise(self) -> bool:
        """One look at every service: a dead one is scheduled for a restart, one whose delay is over is
        started again, a started one that answers its readiness is ready. Whether anything changed."""
        changed = False
        now = time.monotonic()
        for component in self.components.values():
            if component.spec is None or component.proc is None:
                continue
            if component.restart_at is not None:
                if now >= component.restart_at:
                    self.restart(component)
                    changed = True
            elif (code := component.proc.poll()) is not None:
                self.died(component, code, now)
                changed = True
            elif component.state != "ready" and _ready_now(component):
                component.state = "ready"
                print(f"{component.name} is ready (pid {component.pid})", file=sys.stderr, flush=True)
                changed = True
        return changed

    def died(self, component: Component, code: int, now: float) -> None:
        """Note how a service's process ended and when it starts again."""
        lived = now - component.started_at
        if lived >= RESTART_STABLE_SECONDS:
            component.deaths_in_a_row = 0
        delay = RESTART_DELAYS[min(component.deaths_in_a_row, len(RESTART_DELAYS) - 1)]
        component.deaths_in_a_row += 1
        component.last_exit = _exit_status(code)
        component.last_exit_at = datetime.now(UTC).isoformat(timespec="seconds")
        component.state = "restarting"
        component.restart_at = now + delay
        print(
            f"{component.name} (pid {component.pid}) died ({component.last_exit}) after {lived:.0f} s;"
            f" restarting it in {delay:g} s, see {self.data / 'logs' / component.name}.log",
            file=sys.stderr,
            flush=True,
        )

    def restart(self, component: Component) -> None:
        """Start a dead service again."""
        component.restart_at = None
        component.restarts += 1
        self.spawn(component)
        print(
            f"{component.name} restarted (pid {component.pid}, restart {component.restarts})",
            file=sys.stderr,
            flush=True,
        )

    # --- stop -------------------------------------------------------------------------

    def stop_all(self) -> None:
        """Stop the services and then the infrastructure, in reverse order of start (kill after 20 s)."""
        for component in reversed(list(self.components.values())):
            if component.proc is not None and component.proc.poll() is None:
                component.proc.terminate()
        for component in reversed(list(self.components.values())):
            component.restart_at = None
            if component.proc is not None:
                try:
                    component.proc.wait(20)
                except subprocess.TimeoutExpired:
                    component.proc.kill()
            component.state = "stopped"
        self.nats.stop()
        self.postgres.stop()
        for name in ("nats", "postgres"):
            if name in self.components:
                self.components[name].state = "stopped"
        if self.data.exists():
            self.write_endpoints()


async def _ready(client: httpx.AsyncClient, component: Component) -> bool:
    try:
        return (await client.get(f"{component.url}/health/ready")).status_code == 200
    except httpx.HTTPError:
        return False


def _ready_now(component: Component) -> bool:
    try:
        return httpx.get(f"{component.url}/health/ready", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _exit_status(code: int) -> str:
    """A process's end as people say it: ``SIGKILL`` (killed by a signal) or ``exit 1``."""
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def chosen_services(settings: RuntimeSettings) -> list[ServiceSpec]:
    """The services ``spicadb run`` starts: every one installed (and SPICADB_SERVICES), or only those
    SPICADB_RUN_ONLY names."""
    specs = list(discover_services())
    names = {name.strip() for name in settings.run_only.split(",") if name.strip()}
    if unknown := names - {spec.name for spec in specs}:
        raise InfraError(f"SPICADB_RUN_ONLY: no service {', '.join(sorted(unknown))}")
    return [spec for spec in specs if not names or spec.name in names]


def running_pid(data: Path) -> int | None:
    """The pid of the running platform, None when none runs (a stale pid file is ignored)."""
    try:
        pid = int((data / PID_FILE).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid_alive(pid) else None


def run(settings: RuntimeSettings) -> int:
    """Foreground: start everything, print the table, wait for Ctrl-C or `spicadb stop`."""
    data = settings.data_path
    if (pid := running_pid(data)) is not None:
        print(f"SPICA-DB is already running from {data} (pid {pid}); `make stop` first.", file=sys.stderr)
        return 1
    try:
        platform = Platform(settings)
    except InfraError as exc:
        print(f"spicadb run: {exc}", file=sys.stderr)
        return 2
    stop = _stop_signals()
    try:
        platform.start_infrastructure()
        platform.pid_file.write_text(str(os.getpid()))
        asyncio.run(platform.prepare())
        platform.start_services()
        all_ready = asyncio.run(platform.wait_ready())
        platform.write_endpoints()
        platform.print_table()
        if not all_ready:
            print(f"some components are not ready: see {data / 'logs'}", file=sys.stderr)
        _wait_for_stop(platform, stop)
        return 0 if all_ready else 1
    except (InfraError, OSError, asyncpg.PostgresError, subprocess.CalledProcessError) as exc:
        print(f"spicadb run: {exc}", file=sys.stderr)
        return 1
    finally:
        print("stopping...", flush=True)
        platform.stop_all()
        platform.pid_file.unlink(missing_ok=True)
        print("stopped.", flush=True)


def _stop_signals() -> dict[str, bool]:
    flag = {"stop": False}

    def handler(signum: int, _: object) -> None:
        flag["stop"] = True

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return flag


def _wait_for_stop(platform: Platform, stop: dict[str, bool]) -> None:
    while not stop["stop"]:
        time.sleep(0.5)
        if not stop["stop"] and platform.supervise():
            platform.write_endpoints()


def stop(settings: RuntimeSettings) -> int:
    """Stop a running platform (``spicadb stop``); 0 whether or not one ran."""
    data = settings.data_path
    pid = running_pid(data)
    if pid is None:
        print("SPICA-DB is not running.")
        return 0
    stop_pid(pid, signal.SIGTERM, timeout=60)
    print(f"stopped (pid {pid}).")
    return 0
