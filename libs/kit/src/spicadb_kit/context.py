"""Per-process singletons of a service, built at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import asyncpg

from .auth import TokenVerifier
from .events import Bus, ConsumerRunner, Outbox, OutboxRelay
from .settings import ServiceSettings
from .spec import ServiceSpec


@dataclass
class ServiceContext:
    spec: ServiceSpec
    settings: ServiceSettings
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
    # what a service builds at startup for itself (signing keys, an HTTP client, caches), by name
    extras: dict[str, Any] = field(default_factory=dict)

    def spawn(self, coro: Any, name: str) -> None:
        """A background task that lives as long as the service (cancelled at shutdown)."""
        self.tasks.append(asyncio.create_task(coro, name=f"{self.spec.name}-{name}"))
