"""What every handler is given: the caller, and the domain services bound to the request."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext

from ..config import ProgrammesSettings
from ..services.access import Caller
from ..services.observing import ObservingService
from ..services.programmes import ProgrammeService
from ..services.targets import TargetService


def _settings(context: ServiceContext) -> ProgrammesSettings:
    settings = context.settings
    assert isinstance(settings, ProgrammesSettings)
    return settings


def provide_caller(principal: NamedDependency[Principal], context: NamedDependency[ServiceContext]) -> Caller:
    return Caller.of(principal, _settings(context).trusted())


def provide_programmes(
    caller: NamedDependency[Caller], context: NamedDependency[ServiceContext]
) -> ProgrammeService:
    return ProgrammeService(context.pool, context.outbox, caller)


def provide_targets(
    caller: NamedDependency[Caller], context: NamedDependency[ServiceContext]
) -> TargetService:
    return TargetService(context.pool, context.outbox, caller, _settings(context))


def provide_observing(
    caller: NamedDependency[Caller], context: NamedDependency[ServiceContext]
) -> ObservingService:
    return ObservingService(context.pool, context.outbox, caller)


DEPENDENCIES = {
    "caller": Provide(provide_caller, sync_to_thread=False),
    "programmes": Provide(provide_programmes, sync_to_thread=False),
    "targets": Provide(provide_targets, sync_to_thread=False),
    "observing": Provide(provide_observing, sync_to_thread=False),
}
