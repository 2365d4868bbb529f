"""The programmes service's app: the kit's service app with the programme, target and observing
handlers and the night-log consumer."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import ProgrammesSettings
from .consumers import night_logs
from .handlers.columns import TargetColumnController
from .handlers.deps import DEPENDENCIES
from .handlers.observing import ObservingController
from .handlers.programmes import ProgrammeController
from .handlers.targets import TargetController
from .spec import SPEC


def create_app(settings: ProgrammesSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    return create_service_app(
        SPEC,
        settings or ProgrammesSettings.from_env(),
        route_handlers=[ProgrammeController, TargetController, TargetColumnController, ObservingController],
        consumers=[night_logs],
        dependencies=DEPENDENCIES,
        verifier=verifier,
    )
