"""The auth service's app: the kit's service app plus the OAuth server, login pages and admin API."""

from __future__ import annotations

import httpx
from litestar import Litestar

from spicadb_kit.app import create_service_app
from spicadb_kit.context import ServiceContext
from spicadb_kit.logs import get_logger

from .config import AuthSettings
from .handlers import admin, login, oauth
from .handlers.deps import DEPENDENCIES, RUNTIME
from .runtime import AuthRuntime, LocalTokenVerifier
from .services.bootstrap import bootstrap
from .spec import SPEC

log = get_logger(__name__)


def create_app(
    settings: AuthSettings | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """``upstream_transport``: how to reach the upstream OpenID provider (tests pass an in-process
    transport to a second auth service; None is the network)."""
    settings = settings or AuthSettings.from_env()
    runtime = AuthRuntime(settings, upstream_transport)

    async def start(context: ServiceContext) -> None:
        runtime.attach(context)
        context.extras[RUNTIME] = runtime
        await runtime.keyring.maintain(context.pool)  # the first signing key on a fresh database
        await bootstrap(runtime)
        context.spawn(runtime.housekeeping(), "housekeeping")

    return create_service_app(
        SPEC,
        settings,
        route_handlers=[*oauth.ROUTES, *login.ROUTES, *admin.ROUTES],
        dependencies=DEPENDENCIES,
        verifier=LocalTokenVerifier(runtime),
        on_startup=[start],
    )
