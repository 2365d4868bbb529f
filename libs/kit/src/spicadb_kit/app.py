"""The app factory: a service's own code is its handlers, consumers and domain; this wires
the rest the same way for every service (logging, tracing, errors, auth, health, OpenAPI,
database pool, NATS, outbox relay, consumer runners)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, TypeAlias, TypeVar

from litestar import Litestar, Request, get
from litestar.config.cors import CORSConfig
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler

from .admin import operator_router
from .auth import Principal, TokenAuthenticationMiddleware, TokenVerifier
from .context import ServiceContext
from .db import wait_for_pool
from .errors import EXCEPTION_HANDLERS
from .events import Bus, ConsumerRunner, EventConsumer, Outbox, OutboxRelay
from .health import live, ready
from .logs import configure_logging, get_logger
from .metrics import ServiceMetrics, metrics_middleware
from .migrate import schema_status, service_migrations
from .openapi import document_errors
from .requests import head_as_get, input_guard, request_id_middleware
from .settings import ServiceSettings
from .spec import ServiceSpec, StreamDecl
from .telemetry import http_tracing_config, setup_tracing

__all__ = ["SchemaNotCurrent", "StartupHook", "create_service_app", "openapi_document"]

log = get_logger(__name__)


SettingsT = TypeVar("SettingsT", bound=ServiceSettings)

# a service's own startup or shutdown step, given its context (its settings typed)
StartupHook: TypeAlias = Callable[[ServiceContext[SettingsT, Any]], Awaitable[None]]


class SchemaNotCurrent(RuntimeError):
    """The database schema is behind the code: run ``spicadb migrate`` first."""


@get("/openapi.json", opt={"anonymous": True}, include_in_schema=False, sync_to_thread=False)
def openapi_document(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The service's own OpenAPI document, which the gateway merges into the platform's."""
    return request.app.openapi_schema.to_schema()


def _package_version(spec: ServiceSpec) -> str:
    try:
        return version(spec.app.split(".")[0].replace("_", "-"))
    except PackageNotFoundError:
        return "0.0.0"


async def _start(
    spec: ServiceSpec,
    settings: SettingsT,
    consumers: Sequence[EventConsumer],
    verifier: TokenVerifier | None,
) -> ServiceContext[SettingsT, Any]:
    pool = await wait_for_pool(
        settings.database_url,
        schema=spec.schema,
        application=spec.name,
        min_size=settings.database_pool_min,
        max_size=settings.database_pool_max,
    )
    async with pool.acquire() as conn:
        tag, todo = await schema_status(conn, spec.schema, service_migrations(spec))
    if todo:
        await pool.close()
        raise SchemaNotCurrent(f"{spec.name}: migrations pending ({', '.join(todo)}); run `spicadb migrate`")
    bus = Bus(settings.nats_url, name=spec.name)
    await bus.connect()
    relay = OutboxRelay(
        pool,
        bus,
        schema=spec.schema,
        batch=settings.outbox_batch,
        poll_seconds=settings.outbox_poll_seconds,
        retention_seconds=settings.outbox_retention_seconds,
        inbox_retention_seconds=settings.inbox_retention_seconds,
        max_attempts=settings.outbox_max_attempts,
        stream=_own_stream(spec),
    )
    context: ServiceContext[SettingsT, Any] = ServiceContext(
        spec=spec,
        settings=settings,
        version=_package_version(spec),
        started_at=datetime.now(UTC),
        pool=pool,
        bus=bus,
        # events over the connected server's max_payload are refused in their transaction
        outbox=Outbox(f"/spicadb/{spec.name}", max_payload=lambda: bus.max_payload),
        relay=relay,
        schema_version=tag,
        verifier=verifier
        or TokenVerifier(
            issuer=settings.token_issuer, audience=settings.token_audience, jwks_url=settings.jwks_url
        ),
        runners=[ConsumerRunner(c, pool, bus, batch=settings.consumer_batch) for c in consumers],
    )
    context.tasks.append(asyncio.create_task(relay.run(), name=f"{spec.name}-relay"))
    for runner in context.runners:
        context.tasks.append(asyncio.create_task(runner.run(), name=f"{spec.name}-{runner.name}"))
    log.info("service started", version=context.version, schema_version=tag)
    return context


async def _finish(task: asyncio.Task[None]) -> None:
    """Wait for a cancelled task, cancelling it again while it runs: a library that swallows one
    cancellation (asyncio.wait_for racing a completion on 3.11, nats-py's fetch) must not hang the
    shutdown with a connection held, which would hang the pool's close too."""
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=1.0)
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.result()


async def _stop(context: ServiceContext[Any, Any]) -> None:
    for task in context.tasks:
        task.cancel()
    for task in context.tasks:
        await _finish(task)
    await context.bus.close()
    await context.pool.close()


def create_service_app(
    spec: ServiceSpec,
    settings: SettingsT,
    *,
    route_handlers: Sequence[ControllerRouterHandler] = (),
    consumers: Sequence[EventConsumer] = (),
    dependencies: dict[str, Provide] | None = None,
    verifier: TokenVerifier | None = None,
    cors_origins: Sequence[str] = (),
    on_startup: Sequence[StartupHook[SettingsT]] = (),
    on_shutdown: Sequence[StartupHook[SettingsT]] = (),
    middleware: Sequence[Any] = (),
) -> Litestar:
    """Build a service's app. ``on_startup`` hooks run once the context (pool, bus, relay,
    consumers) exists, in order (one of them attaches the service's own state, see
    ``ServiceContext.attach``); ``on_shutdown`` hooks run before it is torn down."""
    configure_logging(spec.name, json=settings.json_logs, level=settings.log_level)
    setup_tracing(spec.name, settings.otel_exporter, settings.otel_endpoint)

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        context = await _start(spec, settings, consumers, verifier)
        app.state.context = context
        app.state.verifier = context.verifier
        try:
            for hook in on_startup:
                await hook(context)
            yield
        finally:
            for hook in on_shutdown:
                await hook(context)
            await _stop(context)

    plugins: list[Any] = []
    if settings.otel_exporter != "none":
        from litestar.plugins.opentelemetry import OpenTelemetryPlugin

        plugins.append(OpenTelemetryPlugin(http_tracing_config()))
    app = Litestar(
        route_handlers=[live, ready, openapi_document, operator_router(spec), *route_handlers],
        lifespan=[lifespan],
        middleware=[
            DefineMiddleware(
                TokenAuthenticationMiddleware, exclude=["^/health/", "^/openapi.json$", "^/docs"]
            ),
            input_guard,  # NUL characters and deep JSON: a 400 before any handler
            *middleware,
        ],
        exception_handlers=EXCEPTION_HANDLERS,
        dependencies={
            "context": Provide(_context, sync_to_thread=False),
            "principal": Provide(_principal, sync_to_thread=False),
            **(dependencies or {}),
        },
        openapi_config=OpenAPIConfig(
            title=f"SPICA-DB {spec.name}",
            version=_package_version(spec),
            description=spec.description,
            path="/docs",
        ),
        cors_config=CORSConfig(allow_origins=list(cors_origins)) if cors_origins else None,
        plugins=plugins,
        request_max_body_size=_body_limit(spec),
        debug=False,
        logging_config=None,  # configure_logging owns the handlers (one format, structured)
    )
    # Outside the router and its exception handler, not in the route middleware: a request
    # refused before its handler (no route, 401 from the auth middleware) gets an id too.
    app.asgi_handler = request_id_middleware(head_as_get(app, app.asgi_handler))
    # outermost: times each request whole, and answers /metrics (anonymous, on the service's own port)
    app.state.metrics = ServiceMetrics(spec.name)
    app.asgi_handler = metrics_middleware(app.asgi_handler, app.state.metrics, app.state)
    document_errors(app, spec)  # the problem answers of every operation, in its OpenAPI document
    return app


def _own_stream(spec: ServiceSpec) -> str | None:
    """The stream the service's relay publishes to (None for a service that produces nothing)."""
    own = StreamDecl.for_producer(spec.name).name
    return own if any(decl.name == own for decl in spec.streams) else None


def _body_limit(spec: ServiceSpec) -> int:
    """The largest body any of the service's gateway routes lets through (at least Litestar's
    default): the gateway enforces each route's own limit, the service must not refuse less."""
    return int(max([10_000_000, *(route.max_body_bytes for route in spec.routes)]))


def _context(request: Request[Any, Any, Any]) -> ServiceContext[Any, Any]:
    context: ServiceContext[Any, Any] = request.app.state.context
    return context


def _principal(request: Request[Any, Any, Any]) -> Principal:
    user = request.scope.get("user")
    assert isinstance(user, Principal)
    return user
