"""The probe service installed against real servers, and polling helpers, for tests and benchmarks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient
from nats.js import JetStreamContext
from probe_service.app import create_app
from probe_service.spec import SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.settings import ServiceSettings
from spicadb_kit.testing.services import migrate, role_dsn, service_pool
from spicadb_kit.testing.tokens import TokenFactory


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Poll until ``check`` returns something truthy; fail with its last value otherwise."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: Any = None
    while asyncio.get_running_loop().time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {last!r})")


class Probe:
    """The probe service installed in one test database, and ways to look at its effects."""

    def __init__(self, admin_dsn: str, nats_url: str, tokens: TokenFactory) -> None:
        self.admin_dsn = admin_dsn
        self.nats_url = nats_url
        self.tokens = tokens
        self.service_dsn = role_dsn(admin_dsn, SPEC.role)
        self.pool: asyncpg.Pool | None = None

    def settings(self, **overrides: Any) -> ServiceSettings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": self.service_dsn,
            "nats_url": self.nats_url,
            "token_issuer": self.tokens.issuer,
            "token_audience": self.tokens.audience,
            "outbox_poll_seconds": 0.2,
        }
        values.update(overrides)
        return ServiceSettings(**values)

    async def install(self, js: JetStreamContext) -> None:
        await migrate(self.admin_dsn, [SPEC])
        await provision(js, [SPEC])
        await self.connect()

    async def connect(self) -> None:
        self.pool = await service_pool(self.admin_dsn, SPEC)

    @asynccontextmanager
    async def running(self, **overrides: Any) -> AsyncIterator[AsyncTestClient[Any]]:
        app = create_app(self.settings(**overrides), verifier=self.tokens.verifier())
        async with AsyncTestClient(app) as client:
            yield client

    async def scalar(self, sql: str, *args: Any) -> Any:
        assert self.pool is not None
        return await self.pool.fetchval(sql, *args)

    async def effects_per_ping(self) -> dict[str, int]:
        assert self.pool is not None
        rows = await self.pool.fetch("SELECT ping_id, count(*) AS n FROM ping_effect GROUP BY ping_id")
        return {r["ping_id"]: r["n"] for r in rows}

    async def wait_effects(self, expected: int, timeout: float = 30.0) -> dict[str, int]:
        async def enough() -> dict[str, int] | None:
            effects = await self.effects_per_ping()
            return effects if sum(effects.values()) >= expected else None

        return await eventually(enough, timeout)

    async def close(self) -> None:
        if self.pool is not None:
            await self.pool.close()
