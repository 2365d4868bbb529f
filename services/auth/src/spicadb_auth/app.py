"""The auth service's app: the kit's service app plus the OAuth server, login pages and admin API."""

from __future__ import annotations

import httpx
from litestar import Litestar

from spicadb_kit.app import create_service_app
from spicadb_kit.logs import get_logger

from .config import AuthSettings
from .factory import Factory, ProcessContext
from .handlers import admin, login, oauth
from .handlers.deps import DEPENDENCIES, AuthContext
from .spec import SPEC
from .verifier import LocalTokenVerifier

log = get_logger(__name__)


def create_app(
    settings: AuthSettings | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    """``upstream_transport``: how to reach the upstream OpenID provider (tests pass an in-process
    transport to a second auth service; None is the network)."""
    settings = settings or AuthSettings.from_env()
    process = ProcessContext.build(settings, upstream_transport)
    verifier = LocalTokenVerifier(settings, process.keyring)

    async def start(context: AuthContext) -> None:
        verifier.attach(context.pool)
        factory = Factory(process, context.pool, context.outbox)
        context.attach(factory)
        await process.keyring.maintain(context.pool)  # the first signing key on a fresh database
        await factory.bootstrap()
        context.spawn(factory.housekeeping().run(), "housekeeping")

    return create_service_app(
        SPEC,
        settings,
        route_handlers=[*oauth.ROUTES, *login.ROUTES, *admin.ROUTES],
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[start],
    )
