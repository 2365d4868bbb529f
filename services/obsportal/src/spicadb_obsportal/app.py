"""The obsportal service's app: the kit's service app with the REST and VO handlers, the night-log
consumer and the data-rights consumer."""

from __future__ import annotations

from litestar import Litestar

from spicadb_kit import rights
from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import ObsportalSettings
from .consumers import night_logs, programme_rights
from .handlers.deps import DEPENDENCIES
from .handlers.exposures import ExposureController
from .handlers.vo import cone_search, search_votable, search_votable_get
from .published import name_l0
from .spec import SPEC


def create_app(settings: ObsportalSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    return create_service_app(
        SPEC,
        settings or ObsportalSettings.from_env(),
        route_handlers=[ExposureController, search_votable, search_votable_get, cone_search],
        consumers=[night_logs, programme_rights],
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[rights.apply_policy, name_l0],
    )
