"""The gateway app: the kit's service app (logging, problems, health, DB pool, NATS, consumers) with the
gateway's ASGI entry (gateway.py) in front of it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import msgspec
from litestar import Litestar
from prometheus_client import CONTENT_TYPE_LATEST

from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier
from spicadb_kit.health import readiness
from spicadb_kit.metrics import ServiceMetrics, metrics_middleware
from spicadb_kit.problems import NOT_FOUND
from spicadb_kit.spec import ServiceSpec, discover_services

from .authn import Authenticator
from .config import GatewaySettings
from .gateway import Gateway, GatewayContext, Receive, Scope, Send
from .handlers import ROUTE_HANDLERS
from .openapi import OpenAPIMerger
from .policy import RoutePolicy
from .revocation import RevocationList, revocation_consumer
from .sessions import OAuthEndpoints, SessionManager, SessionStore, TokenSealer
from .spec import SPEC
from .upstream import UpstreamClient

UPSTREAM_PROBE_TIMEOUT = 1.0


def create_app(
    settings: GatewaySettings | None = None,
    verifier: TokenVerifier | None = None,
    specs: Sequence[ServiceSpec] | None = None,
) -> Litestar:
    """``specs``: the services to route (default: every discovered one); the gateway's own is added."""
    settings = settings or GatewaySettings.from_env()
    found = list(specs) if specs is not None else list(discover_services())
    if not any(spec.name == SPEC.name for spec in found):
        found.append(SPEC)
    policy = RoutePolicy.from_specs(found, settings.upstream_map())
    sealer = TokenSealer.from_settings(settings)  # refused here, at once, in production without a key
    revocations = RevocationList()
    gateway = Gateway(settings, policy, revocations)

    async def start(context: GatewayContext) -> None:
        await _start(gateway, context, app, sealer)

    async def stop(context: GatewayContext) -> None:
        if gateway.client is not None:
            await gateway.client.aclose()

    app = create_service_app(
        SPEC,
        settings,
        route_handlers=ROUTE_HANDLERS,
        consumers=[revocation_consumer(revocations)],
        verifier=verifier,
        on_startup=[start],
        on_shutdown=[stop],
    )
    app.state.gateway = gateway
    gateway.inner = app.asgi_handler  # type: ignore[assignment]  # litestar's ASGI types, plain dicts here
    # every request timed, forwarded ones by their route's prefix; /metrics answered by the gateway (admins)
    app.asgi_handler = metrics_middleware(gateway, app.state.metrics, app.state, serve=False)  # type: ignore[arg-type]
    return app


async def _start(gateway: Gateway, context: GatewayContext, app: Litestar, sealer: TokenSealer) -> None:
    settings = gateway.settings
    context.verifier.is_revoked = gateway.revocations.is_revoked
    await gateway.revocations.load(context.pool)
    context.spawn(gateway.revocations.follow(context.pool, settings.revocation_poll_seconds), "revocations")
    context.spawn(_prune_sessions(context), "session-pruning")
    sessions = SessionManager(context.pool, settings, OAuthEndpoints(settings), sealer)
    gateway.context = context
    gateway.client = UpstreamClient(
        pool_size=settings.upstream_pool_size,
        connect_timeout=settings.upstream_connect_timeout,
        timeout=settings.upstream_timeout,
    )
    gateway.health_cache = HealthCache(settings.health_cache_seconds)
    gateway.openapi = OpenAPIMerger(
        settings, gateway.policy, lambda: app.openapi_schema.to_schema(), context.version
    )
    gateway.local_handlers = {
        "/openapi.json": lambda scope, receive, send, rid: _openapi(gateway, send),
        "/health/ready": lambda scope, receive, send, rid: _ready(gateway, scope, send),
        "/metrics": lambda scope, receive, send, rid: _metrics(gateway, app.state.metrics, scope, send),
    }
    context.attach(gateway)
    # last: from here on requests take the gateway's path
    gateway.authn = Authenticator(
        context.verifier, gateway.revocations, sessions, cache_size=settings.token_cache_size
    )


async def _prune_sessions(context: GatewayContext) -> None:
    while True:
        await asyncio.sleep(300)
        try:
            await SessionStore(context.pool).prune()
        except Exception:  # the database may be away for a while; next time then
            continue


async def _send_json(send: Send, status: int, body: Any) -> None:
    data = msgspec.json.encode(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def _openapi(gateway: Gateway, send: Send) -> None:
    assert gateway.openapi is not None
    await _send_json(send, 200, await gateway.openapi.document())


async def upstream_health(gateway: Gateway) -> dict[str, dict[str, Any]]:
    """Each routed upstream's liveness: reachable, status, latency."""
    report: dict[str, dict[str, Any]] = {}

    async def probe(client: httpx.AsyncClient, name: str, url: str) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            response = await client.get(url + "/health/live")
        except httpx.HTTPError as exc:
            report[name] = {"url": url, "reachable": False, "error": exc.__class__.__name__}
            return
        report[name] = {
            "url": url,
            "reachable": response.status_code == 200,
            "status": response.status_code,
            "latency_ms": round((loop.time() - started) * 1000, 1),
        }

    upstreams = gateway.policy.services()
    async with httpx.AsyncClient(timeout=UPSTREAM_PROBE_TIMEOUT) as client:
        await asyncio.gather(*(probe(client, name, up.url) for name, up in upstreams.items()))
    return dict(sorted(report.items()))


async def _ready(gateway: Gateway, scope: Scope, send: Send) -> None:
    """Anonymous callers (kubelet, load balancers, `spicadb run`) get ready or not, from a report at
    most ``health_cache_seconds`` old: one probe of the database and the upstreams however many ask.
    A token with the ``admin`` scope gets the whole report, fresh: the kit's readiness (database, NATS,
    consumer) plus the upstreams (one upstream down makes the gateway degraded, not unready: it still
    serves every other service)."""
    authorization = next((v for n, v in scope["headers"] if n == b"authorization"), None)
    admin = False
    if authorization is not None:
        assert gateway.authn is not None
        identity = await gateway.authn.identify(authorization.decode("latin-1"), None)
        admin = identity.principal.has("admin")
    if admin:
        report = await _report(gateway)
    else:
        report = await gateway.health_cache.get(lambda: _report(gateway))
    status = 200 if report["status"] == "ready" else 503
    await _send_json(send, status, report if admin else {"status": report["status"]})


async def _metrics(gateway: Gateway, metrics: ServiceMetrics, scope: Scope, send: Send) -> None:
    """The gateway's own metrics, to a token with the ``admin`` scope only: its port is the platform's
    public entry. Anyone else finds no route (``/metrics`` is never forwarded: the console's, like
    every service's, is read on its own port)."""
    authorization = next((v for n, v in scope["headers"] if n == b"authorization"), None)
    if authorization is not None:
        assert gateway.authn is not None
        identity = await gateway.authn.identify(authorization.decode("latin-1"), None)
        if identity.principal.has("admin"):
            body = await metrics.exposition(gateway.context)
            headers = [
                (b"content-type", CONTENT_TYPE_LATEST.encode()),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})
            return
    raise NOT_FOUND(f"no route for {scope['path']}")


async def _report(gateway: Gateway) -> dict[str, Any]:
    assert gateway.context is not None
    report = await readiness(gateway.context)
    upstreams = await upstream_health(gateway)
    report["upstreams"] = upstreams
    report["degraded"] = sorted(name for name, entry in upstreams.items() if not entry["reachable"])
    report["revoked_tokens"] = len(gateway.revocations)
    if gateway.client is not None:
        report["upstream_pools"] = gateway.client.statistics()
    return report


class HealthCache:
    """The last readiness report for ``ttl`` seconds; callers arriving while it is made share it."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._report: dict[str, Any] | None = None
        self._made_at = 0.0
        self._pending: asyncio.Future[dict[str, Any]] | None = None

    async def get(self, make: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        now = time.monotonic()
        if self._report is not None and now - self._made_at < self.ttl:
            return self._report
        if self._pending is None:
            self._pending = asyncio.ensure_future(make())
            self._pending.add_done_callback(self._made)
        return await asyncio.shield(self._pending)

    def _made(self, future: asyncio.Future[dict[str, Any]]) -> None:
        self._pending = None
        if not future.cancelled() and future.exception() is None:
            self._report, self._made_at = future.result(), time.monotonic()


__all__ = ["Receive", "Scope", "create_app"]
