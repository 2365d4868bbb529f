"""Test-only pieces for the gateway tests and benchmark: the probe with a route policy, a small upstream
("echo") that records what reaches it, a JWKS server for the test signing key, and helpers to run ASGI
apps under uvicorn on real TCP ports (in this process, or as processes of their own).

Named apart from ``conftest`` on purpose (several test folders have a conftest.py).
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import msgspec
import uvicorn
from probe_service.spec import SPEC as PROBE_SPEC

from spicadb_kit.infra import free_port
from spicadb_kit.runtime.serve import HttpLimits, server_config
from spicadb_kit.settings import ServiceSettings
from spicadb_kit.spec import GatewayRoute, ServiceSpec, StreamDecl

HERE = Path(__file__).resolve().parent
SUPPORT = HERE.parent / "support"

# The probe as a routed service: reading pings needs probe:read, recording one probe:write.
ROUTED_PROBE = dataclasses.replace(
    PROBE_SPEC,
    routes=(
        GatewayRoute("/pings", methods=("GET",), scopes=("probe:read",)),
        GatewayRoute("/pings", methods=("POST",), scopes=("probe:write",)),
    ),
)

SMALL_LIMIT = 64 * 1024
MEDIUM_LIMIT = 2 * 1024 * 1024  # above what the gateway holds before calling the upstream (1 MiB)

# The echo upstream: uploads of any size, a small-body route, an anonymous route, everything else.
ECHO_SPEC = ServiceSpec(
    name="echo",
    app="gateway_support:create_echo",
    default_port=8098,
    routes=(
        GatewayRoute(
            "/echo/upload", methods=("POST", "PUT"), scopes=("probe:write",), max_body_bytes=4 * 1024**3
        ),
        GatewayRoute("/echo/small", methods=("POST",), scopes=("probe:write",), max_body_bytes=SMALL_LIMIT),
        GatewayRoute("/echo/medium", methods=("POST",), scopes=("probe:write",), max_body_bytes=MEDIUM_LIMIT),
        # a protected path under an anonymous prefix (as /oifits/rejections under /oifits/)
        GatewayRoute("/echo/public/private", methods=("GET",), scopes=("probe:write",)),
        GatewayRoute("/echo/public", methods=("GET", "POST"), anonymous=True),
        GatewayRoute("/echo", scopes=("probe:read",)),
    ),
    description="Test upstream (gateway tests and benchmark only).",
)

# The auth service's stream, as the auth service declares it (the gateway consumes its revocations).
AUTH_STREAM = StreamDecl.for_producer("auth")
AUTH_STAND_IN = ServiceSpec(name="auth-stream", app="-:-", default_port=1, streams=(AUTH_STREAM,))

ECHO_OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "echo", "version": "1"},
    "paths": {
        "/echo/upload": {
            "post": {
                "operationId": "upload",
                "requestBody": {"content": {"application/octet-stream": {}}},
                "responses": {"200": {"$ref": "#/components/responses/Received"}},
            }
        },
        "/echo/public": {"get": {"operationId": "public", "responses": {"200": {"description": "ok"}}}},
        # also declared by the probe: the route policy sends it there, so the probe's wins
        "/pings": {"get": {"operationId": "notMine", "responses": {"200": {"description": "x"}}}},
    },
    "components": {
        "schemas": {"PingOut": {"type": "string", "description": "a different PingOut than the probe's"}},
        "responses": {
            "Received": {
                "description": "what arrived",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PingOut"}}},
            }
        },
    },
}


class Echo:
    """An upstream that hashes request bodies as they stream in (never holding them) and says what it
    received; it also answers with chosen errors, slowly, or with a large streamed body."""

    def __init__(self) -> None:
        self.seen: list[str] = []  # the path of every request that reached it, complete or not
        self.received: list[dict[str, Any]] = []
        self.health_probes = 0  # liveness probes (the gateway's readiness asks its upstreams)
        self.cut_off: list[str] = []  # the path of every request whose body never arrived whole

    def paths(self) -> list[str]:
        return list(self.seen)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        path: str = scope["path"]
        if path == "/health/live":
            self.health_probes += 1
            await _json(send, 200, {"status": "alive"})
            return
        if path == "/openapi.json":
            await _json(send, 200, ECHO_OPENAPI)
            return
        self.seen.append(path)
        digest = hashlib.sha256()
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.cut_off.append(path)
                return
            chunk = message.get("body", b"")
            digest.update(chunk)
            size += len(chunk)
            if not message.get("more_body", False):
                break
        query = parse_qs(scope.get("query_string", b"").decode())
        record = {
            "method": scope["method"],
            "path": path,
            "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),
            "query_string": scope.get("query_string", b"").decode("latin-1"),
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in scope["headers"]],
            "size": size,
            "sha256": digest.hexdigest(),
        }
        self.received.append(record)
        if path.startswith("/echo/status/"):
            status = int(path.rsplit("/", 1)[1])
            body = msgspec.json.encode({"type": "about:blank", "title": "from upstream", "status": status})
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/problem+json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-upstream", b"echo"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        if path == "/echo/slow":
            await asyncio.sleep(float(query.get("seconds", ["5"])[0]))
        if path == "/echo/download":
            total = int(query.get("bytes", ["0"])[0])
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/octet-stream")],
                }
            )
            block = b"x" * 65536
            sent = 0
            while sent < total:
                part = block[: min(len(block), total - sent)]
                sent += len(part)
                await send({"type": "http.response.body", "body": part, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
            return
        if path == "/echo/html":
            body = b"<!doctype html><title>echo</title>"
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await _json(send, 200, record, extra=[(b"x-request-id", b"upstream-sets-its-own")])


async def _json(send: Any, status: int, body: Any, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = msgspec.json.encode(body)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": data})


def create_echo() -> Echo:
    return Echo()


class Jwks:
    """Serves a key set at /.well-known/jwks.json, the way the auth service does."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self.jwks = jwks
        self.fetches = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["path"] == "/.well-known/jwks.json":
            self.fetches += 1
            await _json(send, 200, self.jwks)
        else:
            await _json(send, 404, {"detail": "not found"})


class LocalServer:
    """An ASGI app under uvicorn on a real TCP port, in this process's event loop. With ``settings``, it is
    served as ``spicadb serve`` serves it (the kit's server_config: its limits, its trusted proxies)."""

    def __init__(
        self,
        app: Any,
        port: int | None = None,
        *,
        proxy_headers: bool = True,
        settings: ServiceSettings | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        self.app = app
        self.port = port or free_port()
        # off: the server is the edge and trusts no X-Forwarded-For (uvicorn trusts 127.0.0.1 by default)
        self.proxy_headers = proxy_headers
        self.settings = settings
        self.limits = limits
        self.server: uvicorn.Server | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> LocalServer:
        if self.settings is not None:
            settings = msgspec.structs.replace(self.settings, host="127.0.0.1", port=self.port)
            config = server_config(self.app, settings, self.limits, access_log=False, lifespan="on")
        else:
            config = uvicorn.Config(
                self.app,
                host="127.0.0.1",
                port=self.port,
                log_config=None,
                access_log=False,
                lifespan="on",
                timeout_keep_alive=61,
                proxy_headers=self.proxy_headers,
            )
        self.server = uvicorn.Server(config)
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()
                raise RuntimeError(f"{self.app!r} did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        if self.server is not None and self.task is not None:
            self.server.should_exit = True
            await self.task
            self.server = None


class ServerProcess:
    """An app under uvicorn as a process of its own (for memory measurements and benchmarks)."""

    def __init__(
        self,
        factory: str,
        env: dict[str, str],
        log: Path,
        port: int | None = None,
        python_args: tuple[str, ...] = (),
        http: str = "auto",
    ) -> None:
        self.factory = factory
        self.python_args = python_args
        self.http = http  # uvicorn's HTTP implementation: auto (httptools when installed), h11, httptools
        self.env = env
        self.log = log
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> ServerProcess:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(HERE), str(SUPPORT), os.environ.get("PYTHONPATH", "")]),
            **self.env,
        }
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    *self.python_args,
                    "-m",
                    "uvicorn",
                    "--factory",
                    self.factory,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--timeout-keep-alive",
                    "61",
                    "--no-access-log",
                    "--loop",
                    "uvloop",
                    "--http",
                    self.http,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, path: str = "/health/live", timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.factory} exited ({self.proc.returncode}); see {self.log}")
            try:
                if httpx.get(self.url + path, timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.factory} not ready within {timeout}s; see {self.log}")

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        """Graceful stop (uvicorn re-raises the signal afterwards: SIGINT lets cProfile write its file)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(how)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def chunks(total: int, size: int = 1024 * 1024, seed: bytes = b"spica") -> Iterator[bytes]:
    """``total`` bytes of a reproducible pattern, ``size`` at a time (never all in memory)."""
    block = (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]
    sent = 0
    while sent < total:
        part = block[: min(size, total - sent)]
        sent += len(part)
        yield part


def sha256_of(total: int, size: int = 1024 * 1024) -> str:
    digest = hashlib.sha256()
    for part in chunks(total, size):
        digest.update(part)
    return digest.hexdigest()


PROBLEM_MEDIA_TYPE = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is an RFC 9457 problem document with ``status`` (and type ending in ``code``)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM_MEDIA_TYPE), response.headers
    body: dict[str, Any] = response.json()
    assert body["status"] == status, body
    assert body["type"].startswith("https://"), body
    assert body["title"], body
    assert body["detail"], body
    if code is not None:
        assert body["type"].endswith("/" + code), body
    assert body["request_id"] == response.headers["x-request-id"], body
    return body


def header_map(record: dict[str, Any]) -> dict[str, list[str]]:
    """The headers an upstream received (echo record), by lower-case name."""
    out: dict[str, list[str]] = {}
    for name, value in record["headers"]:
        out.setdefault(name.lower(), []).append(value)
    return out


async def raw_exchange(
    port: int, head: bytes, body: Iterator[bytes] = iter(())
) -> tuple[int, dict[str, str], bytes]:
    """Send a request as raw bytes (the body chunk by chunk, stopping if the server hangs up), then read
    the answer: what a client sees when the server answers before the body is complete."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        try:
            for part in body:
                writer.write(part)
                await writer.drain()
        except (ConnectionResetError, BrokenPipeError):
            pass
        status_line = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        payload = await reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), headers, payload
    finally:
        writer.close()


def chunked(parts: Iterator[bytes]) -> Iterator[bytes]:
    """Parts in HTTP/1.1 chunked framing, ending with the last chunk."""
    for part in parts:
        yield b"%x\r\n%b\r\n" % (len(part), part)
    yield b"0\r\n\r\n"
