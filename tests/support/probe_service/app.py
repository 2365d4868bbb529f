from __future__ import annotations

from litestar import Litestar

from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier
from spicadb_kit.settings import ServiceSettings

from .consumers import effects
from .handlers import get_ping, record_ping
from .spec import SPEC


def create_app(settings: ServiceSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    return create_service_app(
        SPEC,
        settings or ServiceSettings.from_env(),
        route_handlers=[record_ping, get_ping],
        consumers=[effects],
        verifier=verifier,
    )
