"""The tap service's app: the kit's service app with the TAP handlers (sync, async jobs, VOSI)."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit.app import StartupHook, create_service_app
from spicadb_kit.auth import TokenVerifier

from .adql import start_warm_up
from .config import TapSettings
from .handlers import jobs, sync, vosi
from .spec import SPEC
from .state import start_state
from .uws import start_jobs, stop_jobs

# run in order once the kit's context exists; the first attaches TapState (context.state)
ON_STARTUP: list[StartupHook[TapSettings]] = [
    start_state,
    start_jobs,
    start_warm_up,
]
# run in order before the context is torn down (after a failed startup too: use context.state_or_none)
ON_SHUTDOWN: list[StartupHook[TapSettings]] = [
    stop_jobs,
]


def create_app(settings: TapSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    settings = settings or TapSettings.from_env()
    return create_service_app(
        SPEC,
        settings,
        route_handlers=[*sync.ROUTES, *jobs.ROUTES, *vosi.ROUTES],
        verifier=verifier,
        on_startup=ON_STARTUP,
        on_shutdown=ON_SHUTDOWN,
    )
