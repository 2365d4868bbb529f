"""The web console's app: the kit's service app with the pages, the static files, the security headers
and one API client (the state) opened at startup."""

from __future__ import annotations

from pathlib import Path

import httpx
from litestar import Litestar
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .api import Api
from .config import WebSettings
from .handlers.admin import AdminPages
from .handlers.deps import DEPENDENCIES, WebContext
from .handlers.files import FilePages
from .handlers.imports import ImportPages
from .handlers.oidb import OidbPages
from .handlers.operations import OperationsPages
from .handlers.pages import Pages
from .handlers.programmes import ProgrammePages
from .handlers.samp import SampSend, SampTables
from .lost import html_not_found
from .rendering import environment
from .security import security_headers
from .spec import SPEC
from .timing import server_timing

STATIC = Path(__file__).parent / "static"


def create_app(
    settings: WebSettings | None = None,
    verifier: TokenVerifier | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Litestar:
    settings = settings or WebSettings.from_env()
    # every page names the cookie its script reads (the gateway's setting, not a secret)
    environment().globals["csrf_cookie"] = settings.csrf_cookie

    async def open_api(context: WebContext) -> None:
        context.attach(Api(context.settings, transport))

    async def close_api(context: WebContext) -> None:
        api = context.state_or_none
        if api is not None:
            await api.close()

    static = create_static_files_router(
        "/static",
        directories=[STATIC],
        opt={"anonymous": True},
        cache_control=CacheControlHeader(max_age=3600),
    )
    app = create_service_app(
        SPEC,
        settings,
        route_handlers=[
            Pages,
            ProgrammePages,
            AdminPages,
            ImportPages,
            FilePages,
            OidbPages,
            OperationsPages,
            SampSend,
            SampTables,
            static,
        ],
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[open_api],
        on_shutdown=[close_api],
    )
    app.asgi_handler = server_timing(security_headers(html_not_found(app.asgi_handler)))
    return app


__all__ = ["create_app"]
