"""What every handler is given: the caller, and the domain services bound to the request."""

from __future__ import annotations

from litestar.di import NamedDependency, Provide

from spicadb_kit.auth import Principal
from spicadb_kit.context import ServiceContext

from ..config import NightLogsSettings
from ..services.access import Caller
from ..services.assign import AssignService
from ..services.ingest import LogService
from ..services.observations import ObservationService
from ..services.schedules import ScheduleService

# the service's context: its settings typed, no state of its own
NightLogsContext = ServiceContext[NightLogsSettings, None]


def provide_caller(
    principal: NamedDependency[Principal], context: NamedDependency[NightLogsContext]
) -> Caller:
    return Caller.of(principal, context.settings.trusted())


def provide_schedules(
    caller: NamedDependency[Caller], context: NamedDependency[NightLogsContext]
) -> ScheduleService:
    return ScheduleService(context.pool, context.outbox, caller)


def provide_logs(caller: NamedDependency[Caller], context: NamedDependency[NightLogsContext]) -> LogService:
    return LogService(context.pool, context.outbox, caller, context.settings)


def provide_observations(
    caller: NamedDependency[Caller], context: NamedDependency[NightLogsContext]
) -> ObservationService:
    return ObservationService(context.pool, context.outbox, caller)


def provide_assignments(
    caller: NamedDependency[Caller], context: NamedDependency[NightLogsContext]
) -> AssignService:
    reader = ObservationService(context.pool, context.outbox, caller)
    return AssignService(context.pool, context.outbox, reader)


DEPENDENCIES = {
    "caller": Provide(provide_caller, sync_to_thread=False),
    "schedules": Provide(provide_schedules, sync_to_thread=False),
    "logs": Provide(provide_logs, sync_to_thread=False),
    "observations": Provide(provide_observations, sync_to_thread=False),
    "assignments": Provide(provide_assignments, sync_to_thread=False),
}
