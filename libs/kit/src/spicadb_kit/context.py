"""Per-process singletons of a service, built at startup and closed at shutdown."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime

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
