"""The oifits service's app: the kit's service app with the push, download and plot handlers, the
night-log consumer (links) and the data-rights consumer; the content-addressed store opened at start."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit import rights
from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import OifitsSettings
from .consumers import consumers
from .handlers.deps import DEPENDENCIES, close_indexer, open_store
from .handlers.files import FileController
from .handlers.programmes import FileProgrammeController
from .spec import SPEC


def create_app(settings: OifitsSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    settings = settings or OifitsSettings.from_env()
    return create_service_app(
        SPEC,
        settings,
        route_handlers=[FileController, FileProgrammeController],
        consumers=consumers(settings),
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[rights.apply_policy, open_store],
        on_shutdown=[close_indexer],
    )
