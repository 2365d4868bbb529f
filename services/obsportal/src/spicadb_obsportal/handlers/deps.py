"""What every handler is given: who looks (with their data rights), and the service bound to them.

The VO routes (search.votable, scs) take no token at the gateway, but a member who sends one sees
their proprietary data there too: the token, when present, is verified here."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.context import ServiceContext
from spicadb_kit.rights import Viewer, request_viewer

from ..config import ObsportalSettings
from ..services.exposures import ObsportalService

# the service's context: its settings typed, no state of its own
ObsportalContext = ServiceContext[ObsportalSettings, None]


async def provide_viewer(
    request: Request[Any, Any, Any], context: NamedDependency[ObsportalContext]
) -> Viewer:
    return await request_viewer(request, context)


def provide_obsportal(
    viewer: NamedDependency[Viewer], context: NamedDependency[ObsportalContext]
) -> ObsportalService:
    return ObsportalService(context.pool, viewer, context.settings)


DEPENDENCIES = {
    "viewer": Provide(provide_viewer),
    "obsportal": Provide(provide_obsportal, sync_to_thread=False),
}
