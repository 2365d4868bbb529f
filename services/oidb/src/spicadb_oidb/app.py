"""The oidb service's app: the kit's service app with the JSON and DataLink handlers, the oifits and
night-log consumers and the data-rights consumer."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit import rights
from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import OidbSettings
from .consumers import consumers
from .handlers.datalink import links, links_post
from .handlers.deps import DEPENDENCIES
from .handlers.granules import GranuleController
from .published import name_l0
from .spec import SPEC


def create_app(settings: OidbSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    settings = settings or OidbSettings.from_env()
    return create_service_app(
        SPEC,
        settings,
        route_handlers=[GranuleController, links, links_post],
        consumers=consumers(settings),
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[rights.apply_policy, name_l0],
    )
