"""The tap service's app: the kit's service app with the TAP handlers (sync, async jobs, VOSI)."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import TapSettings
from .handlers import jobs, sync, vosi
from .spec import SPEC


def create_app(settings: TapSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    settings = settings or TapSettings.from_env()
    return create_service_app(
        SPEC,
        settings,
        route_handlers=[*sync.ROUTES, *jobs.ROUTES, *vosi.ROUTES],
        verifier=verifier,
    )
