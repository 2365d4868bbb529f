"""Per-process singletons of a service, built at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import asyncpg

from .auth import TokenVerifier
from .events import Bus, ConsumerRunner, Outbox, OutboxRelay
from .settings import ServiceSettings
from .spec import ServiceSpec

__all__ = ["ReadinessCheck", "ServiceContext", "SettingsT", "StateT"]

SettingsT = TypeVar("SettingsT", bound=ServiceSettings)
StateT = TypeVar("StateT")

# a service's own part of its readiness report: given the report's problems (not ready) and warnings
# lists to add to, it returns its details (shown under its name in /health/ready)
ReadinessCheck = Callable[[list[str], list[str]], Awaitable[dict[str, Any]]]


@dataclass
class ServiceContext(Generic[SettingsT, StateT]):
    """What every part of a service shares for the life of the process: its settings (of the
    service's own settings class), pool, bus, relay and consumers, and the state the service builds
    for itself at startup (signing keys, a blob store, an HTTP client: one typed object per service,
    see :meth:`attach`). A service names its own as ``ServiceContext[ItsSettings, ItsState]``
    (``None`` for a service with no state of its own)."""

    spec: ServiceSpec
    settings: SettingsT
    version: str
    started_at: datetime
    pool: asyncpg.Pool
    bus: Bus
    outbox: Outbox
    relay: OutboxRelay
    verifier: TokenVerifier
    runners: list[ConsumerRunner] = field(default_factory=list)
    schema_version: str = ""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    # the service's own readiness checks by name (a startup hook adds them; see health.readiness)
    readiness_checks: dict[str, ReadinessCheck] = field(default_factory=dict)
    _state: StateT | None = None

    @property
    def state(self) -> StateT:
        """The service's own state; an error before the startup hook that attaches it has run."""
        if self._state is None:
            raise RuntimeError(f"{self.spec.name}: the service's state is not attached yet (startup)")
        return self._state

    @property
    def state_or_none(self) -> StateT | None:
        """The service's own state, None if never attached: for shutdown hooks, which also run
        after a startup that failed midway."""
        return self._state

    def attach(self, state: StateT) -> None:
        """Give the service its own state (from a startup hook, once what it needs exists)."""
        self._state = state

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """A background task that lives as long as the service (cancelled at shutdown)."""
        self.tasks.append(asyncio.create_task(coro, name=f"{self.spec.name}-{name}"))
