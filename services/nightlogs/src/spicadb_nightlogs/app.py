"""The night-logs service's app: the kit's service app with the night and observation handlers, the
data-rights consumer and the programme-targets consumer."""

from __future__ import annotations

import asyncio

from litestar import Litestar

from spicadb_kit import rights
from spicadb_kit.app import create_service_app
from spicadb_kit.auth import TokenVerifier

from .config import NightLogsSettings
from .consumers import programme_rights, targets_consumer
from .handlers.assign import ObservationProgrammeController
from .handlers.deps import DEPENDENCIES, NightLogsContext
from .handlers.nights import NightController
from .handlers.observations import ObservationController
from .spec import SPEC


async def warm_up(_: NightLogsContext) -> None:
    """Load astropy's time and IERS machinery once at startup (about 0.7 s), not in the first log."""
    from spicadb_astro import chara

    await asyncio.to_thread(chara.apparent_sidereal_time, [60000.0, 60000.5])


def create_app(settings: NightLogsSettings | None = None, verifier: TokenVerifier | None = None) -> Litestar:
    settings = settings or NightLogsSettings.from_env()
    return create_service_app(
        SPEC,
        settings,
        route_handlers=[NightController, ObservationController, ObservationProgrammeController],
        consumers=[programme_rights, targets_consumer(settings)],
        dependencies=DEPENDENCIES,
        verifier=verifier,
        on_startup=[rights.apply_policy, warm_up],
    )
