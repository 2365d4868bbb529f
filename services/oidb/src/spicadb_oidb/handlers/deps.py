"""What every handler is given: who looks (with their data rights), and the service bound to them.

The routes take no token at the gateway (VO tools come without one), but a member who sends one sees
their proprietary granules too: the token, when present, is verified here."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal, bearer_token
from spicadb_kit.context import ServiceContext
from spicadb_kit.rights import Viewer

from ..config import OidbSettings
from ..services.granules import GranuleService

# the service's context: its settings typed, no state of its own
OidbContext = ServiceContext[OidbSettings, None]


async def provide_viewer(request: Request[Any, Any, Any], context: NamedDependency[OidbContext]) -> Viewer:
    principal = request.scope.get("user")
    if not isinstance(principal, Principal):
        header = request.headers.get("authorization")
        principal = await context.verifier.verify(bearer_token(header)) if header else None
    return Viewer.of(principal, context.settings.trusted())


def provide_granules(
    viewer: NamedDependency[Viewer], context: NamedDependency[OidbContext]
) -> GranuleService:
    return GranuleService(context.pool, viewer, context.settings)


DEPENDENCIES = {
    "viewer": Provide(provide_viewer),
    "granules": Provide(provide_granules, sync_to_thread=False),
}
