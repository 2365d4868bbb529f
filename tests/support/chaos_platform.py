"""The platform of the fault suite (`make chaos`): PostgreSQL, NATS and every chosen service as real
``spicadb serve`` processes, each service in ``replicas`` processes sharing its database schema and its
durable consumers (different ports), under the runtime's own supervisor (a process that dies is started
again with backoff, as `make run` does), so "ready again without a hand" is what a test sees.

API (small on purpose, shared by the fault tests):

- ``ChaosPlatform(base, services, replicas=2)``; ``start()`` / ``stop()`` (stop is safe after a
  failed start: every process it started is stopped by its pid); ``tokens``: the platform's token issuer
  (a :class:`TokenFactory` whose issuer is the public URL; the services take its keys);
- ``replicas(service)`` the components of a service (``name``, ``url``, ``pid``), ``urls(service)``;
- ``kill(name)`` SIGKILL one replica (``nightlogs-1``); the supervisor starts it again;
- ``restart_nats()`` (SIGKILL, then the same server on its store), ``restart_postgres()`` (fast
  shutdown, or ``crash=True``: every PostgreSQL process SIGKILLed; then start);
- ``wait_ready(timeout)``: every replica answers ``/health/ready`` 200 (raises naming those that do not);
- ``database_url()`` the superuser's URL of the platform's database (to read effects),
  ``admin_headers()`` a token with the ``admin`` scope (the operator routes).

Blocking calls: from async tests, run ``kill``/``restart_*`` through ``asyncio.to_thread`` so the flow
keeps going while they act.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import threading
import time
from collections.abc import Coroutine, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from spicadb_kit.infra import SUPERUSER, free_port, pid_alive
from spicadb_kit.runtime.supervisor import Component, Platform
from spicadb_kit.settings import RuntimeSettings
from spicadb_kit.spec import discover_services
from spicadb_kit.testing.tokens import TokenFactory

__all__ = ["INSTALLED", "ChaosPlatform", "JwksServer", "run_async"]

# every installed service (what `make run` starts): the fault suite runs 2 replicas of each
INSTALLED = tuple(spec.name for spec in discover_services())

# durability is not what these tests measure (no OS crash here: a fast shutdown writes everything);
# 2 x every service's pool needs more than the default 100 connections
PG_SETTINGS = {"fsync": "off", "full_page_writes": "off", "max_connections": "400"}
SUPERVISE_EVERY = 0.3


def run_async(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine to its end on a loop of its own, in a thread of its own (callable from sync code
    while another loop, pytest-asyncio's, is set on this thread)."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = asyncio.run(coro)
        except BaseException as exc:
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result.get("value")


class JwksServer:
    """The token issuer's public keys on a loopback port (the services fetch them as from auth)."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        body = json.dumps(jwks).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/.well-known/jwks.json"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ChaosPlatform(Platform):
    """PostgreSQL, NATS and ``replicas`` processes of each named service, supervised."""

    def __init__(self, base: Path, services: Sequence[str], *, replicas: int = 2) -> None:
        chosen = {spec.name: spec for spec in discover_services()}
        settings = RuntimeSettings(
            data=str(base / "data"),
            pg_port=free_port(),
            nats_port=free_port(),
            nats_monitor_port=free_port(),
            pg_database="spicadb",
            ready_timeout_seconds=180.0,
        )
        super().__init__(settings, [chosen[name] for name in services])
        self.postgres.settings = dict(PG_SETTINGS)
        self.replica_count = replicas
        # every replica's URL known before any starts: the gateway's upstreams and the issuer name them
        for spec in self.specs:
            for i in range(1, replicas + 1):
                url = f"http://{self.settings.host}:{free_port()}"
                self.components[f"{spec.name}-{i}"] = Component(f"{spec.name}-{i}", url, spec=spec)
        # the platform's issuer is its public URL (auth registers its clients' redirects under it)
        self.tokens = TokenFactory(issuer=self.public_url())
        self.jwks = JwksServer(self.tokens.jwks)
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._supervisor: threading.Thread | None = None

    # --- environment ---------------------------------------------------------------------

    def service_env(self, spec: Any, port: int) -> dict[str, str]:
        """The runtime's environment, with the test's token issuer and quick relay polls."""
        env = super().service_env(spec, port)
        env.update(
            SPICADB_TOKEN_ISSUER=self.tokens.issuer,
            SPICADB_TOKEN_AUDIENCE=self.tokens.audience,
            SPICADB_JWKS_URL=self.jwks.url,
            SPICADB_OUTBOX_POLL_SECONDS="0.2",
            SPICADB_OTEL_EXPORTER="none",
        )
        env.pop("SPICADB_SERVICES", None)
        return env

    def url_of(self, spec: Any) -> str:
        """A service's first replica (the gateway's upstream and the services' auth: one URL each)."""
        return self.replicas(spec.name)[0].url

    def public_url(self) -> str:
        """The gateway's first replica when it runs, else the first service's."""
        gateway = self.replicas("gateway")
        return gateway[0].url if gateway else self.url_of(self.specs[0])

    def database_url(self, user: str = SUPERUSER) -> str:
        return super().database_url(user)

    def admin_headers(self) -> dict[str, str]:
        """An operator's token (``admin`` scope), for ``<admin_path>/dead-letters``."""
        return {"Authorization": "Bearer " + self.tokens.mint("admin", subject="operator")}

    # --- start and stop ------------------------------------------------------------------

    def start(self) -> None:
        """Infrastructure, migrations and streams, every replica, then supervision; raises when a
        replica is not ready within the ready timeout."""
        self.jwks.start()
        self.start_infrastructure()
        run_async(self.prepare())
        (self.data / "logs").mkdir(exist_ok=True)
        for component in list(self.components.values()):
            if component.spec is not None:
                self.spawn(component)
        if not run_async(Platform.wait_ready(self)):
            states = {c.name: c.state for c in self.components.values() if c.spec is not None}
            raise AssertionError(f"replicas not ready: {states}; logs in {self.data / 'logs'}")
        self._supervisor = threading.Thread(target=self._supervise_loop, daemon=True)
        self._supervisor.start()

    def _supervise_loop(self) -> None:
        while not self._stopping.wait(SUPERVISE_EVERY):
            with self._lock:
                self.supervise()

    def stop(self) -> None:
        """Supervision off, then every process by its pid (services, NATS, PostgreSQL), the keys' server."""
        self._stopping.set()
        if self._supervisor is not None:
            self._supervisor.join(10)
        with self._lock:
            self.stop_all()
            for component in self.components.values():  # a process that ignored its SIGTERM
                if component.pid is not None and pid_alive(component.pid) and component.spec is not None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(component.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            self.jwks.stop()

    # --- what tests look at and do -----------------------------------------------------------

    def replicas(self, service: str) -> list[Component]:
        """The components running ``service`` (``<service>-1``, ``<service>-2``...)."""
        return [c for c in self.components.values() if c.spec is not None and c.spec.name == service]

    def urls(self, service: str) -> list[str]:
        return [c.url for c in self.replicas(service)]

    def kill(self, name: str) -> int:
        """SIGKILL one replica (a crash); the supervisor starts it again. Its pid."""
        with self._lock:
            component = self.components[name]
            assert component.pid is not None
            pid = component.pid
            os.kill(pid, signal.SIGKILL)
        return pid

    def logged_error(self, request_id: str) -> str:
        """The exception a replica logged for a request: the last line of its traceback, from the logs."""
        for log in sorted((self.data / "logs").glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()
            for i, line in enumerate(lines):
                if request_id in line and "unhandled error" in line:
                    block = []
                    for later in lines[i + 1 :]:
                        if re.match(r"\d{4}-\d\d-\d\dT", later):
                            break
                        block.append(later.strip(" |"))
                    return f"{log.name}: {' / '.join(b for b in block[-3:] if b)[:400]}"
        return f"{request_id}: not in the logs"

    def restarts(self, name: str) -> int:
        return self.components[name].restarts

    def restart_nats(self, down_seconds: float = 1.0) -> None:
        """NATS crashes (SIGKILL) and comes back on the same port and store."""
        self.nats.kill()
        time.sleep(down_seconds)
        self.nats.start()
        self.components["nats"].pid = self.nats.pid

    def restart_postgres(self, down_seconds: float = 1.0, *, crash: bool = False) -> None:
        """PostgreSQL restarted (fast shutdown: open transactions abort, connections drop); ``crash``:
        the postmaster and every backend SIGKILLed instead (its process group), recovery at start."""
        if crash and self.postgres.proc is not None and self.postgres.proc.poll() is None:
            os.killpg(self.postgres.proc.pid, signal.SIGKILL)
            self.postgres.proc.wait()
        else:
            self.postgres.stop()
        time.sleep(down_seconds)
        self.postgres.start()
        self.components["postgres"].pid = self.postgres.pid

    async def not_ready(self) -> list[str]:
        """The replicas that do not answer ``/health/ready`` with 200 now."""
        failing = []
        async with httpx.AsyncClient(timeout=3) as client:
            for component in self.components.values():
                if component.spec is None:
                    continue
                try:
                    answer = await client.get(f"{component.url}/health/ready")
                    if answer.status_code != 200:
                        failing.append(f"{component.name}: {answer.status_code} {answer.text[:300]}")
                except httpx.HTTPError as exc:
                    failing.append(f"{component.name}: {type(exc).__name__}")
        return failing

    async def wait_ready(self, timeout: float = 90.0) -> None:  # type: ignore[override]
        """Every replica ready (restarted by the supervisor when it died), with nobody's hand."""
        deadline = time.monotonic() + timeout
        failing: list[str] = []
        while time.monotonic() < deadline:
            failing = await self.not_ready()
            if not failing:
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"not ready after {timeout:g} s: {failing}; logs in {self.data / 'logs'}")
