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

# the service's context: its settings typed, no state of its own
ProgrammesContext = ServiceContext[ProgrammesSettings, None]


def provide_caller(
    principal: NamedDependency[Principal], context: NamedDependency[ProgrammesContext]
) -> Caller:
    return Caller.of(principal, context.settings.trusted())


def provide_programmes(
    caller: NamedDependency[Caller], context: NamedDependency[ProgrammesContext]
) -> ProgrammeService:
    return ProgrammeService(context.pool, context.outbox, caller)


def provide_targets(
    caller: NamedDependency[Caller], context: NamedDependency[ProgrammesContext]
) -> TargetService:
    return TargetService(context.pool, context.outbox, caller, context.settings)


def provide_observing(
    caller: NamedDependency[Caller], context: NamedDependency[ProgrammesContext]
) -> ObservingService:
    return ObservingService(context.pool, context.outbox, caller)


DEPENDENCIES = {
    "caller": Provide(provide_caller, sync_to_thread=False),
    "programmes": Provide(provide_programmes, sync_to_thread=False),
    "targets": Provide(provide_targets, sync_to_thread=False),
    "observing": Provide(provide_observing, sync_to_thread=False),
}
