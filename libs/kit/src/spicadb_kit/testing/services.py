"""Installing services into a test database: what every service's tests need the same way."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg

from ..db import init_connection
from ..infra import SUPERUSER, PostgresCluster
from ..migrate import migrate_service
from ..spec import ServiceSpec


def role_dsn(admin_dsn: str, role: str) -> str:
    """The same database as ``admin_dsn``, as a service's own role (trust auth in tests)."""
    base, _, database = admin_dsn.rpartition("/")
    return base.replace(f"{SUPERUSER}@", f"{role}@") + "/" + database


@asynccontextmanager
async def fresh_database(cluster: PostgresCluster, prefix: str = "t") -> AsyncIterator[str]:
    """A database of its own (admin DSN), dropped on exit."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(cluster.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield cluster.dsn(name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def migrate(admin_dsn: str, specs: Sequence[ServiceSpec]) -> None:
    """Apply the services' migrations as the cluster admin, as `spicadb migrate` does."""
    conn = await asyncpg.connect(admin_dsn)
    try:
        for spec in specs:
            await migrate_service(conn, spec)
    finally:
        await conn.close()


async def service_pool(admin_dsn: str, spec: ServiceSpec, max_size: int = 4) -> asyncpg.Pool:
    """A pool as the service's role, in its schema: to look at what the service wrote."""
    pool = await asyncpg.create_pool(
        role_dsn(admin_dsn, spec.role),
        min_size=1,
        max_size=max_size,
        init=init_connection,
        server_settings={"search_path": f"{spec.schema},public"},
    )
    assert pool is not None
    return pool
