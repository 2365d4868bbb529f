"""`spicadb wait NAME` (the chart's init container): a service's pods wait until the migration and the
provisioning have done their part, then start. It says what is missing, connects as the service itself,
and returns as soon as the schema is current and the streams and consumers exist."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import asyncpg
import nats
import pytest
from nats.js import JetStreamContext

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer
from spicadb_kit.runtime.serve import find_service
from spicadb_kit.runtime.wait import missing, wait_until_startable
from spicadb_kit.settings import ServiceSettings
from spicadb_kit.testing.services import migrate, role_dsn

pytestmark = pytest.mark.timeout(120)

SPICADB = Path(sys.executable).with_name("spicadb")


def settings_of(database: str, nats_url: str, role: str) -> ServiceSettings:
    return ServiceSettings(environment="test", database_url=role_dsn(database, role), nats_url=nats_url)


async def test_it_names_what_is_missing_until_migrate_and_provision_have_run(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer
) -> None:
    spec = find_service("nightlogs")
    settings = settings_of(database, nats_server.url, spec.role)
    before = await missing(spec, settings)
    # roles are the cluster's: its role is refused, or (made for another test database) finds no schema
    assert before[0].startswith(("database: ", "schema ", "migration ")), before

    waiting = asyncio.create_task(wait_until_startable(spec, settings, interval=0.1))
    await migrate(database, [spec])
    migrated = await missing(spec, settings)
    assert migrated == [
        "stream SPICADB_NIGHTLOGS not provisioned",
        "stream SPICADB_PROGRAMMES not provisioned",
        "consumer SPICADB_PROGRAMMES/nightlogs_programme_rights not provisioned",
        "consumer SPICADB_PROGRAMMES/nightlogs_programme_targets not provisioned",
    ]
    assert not waiting.done()
    await provision(jetstream, [find_service("programmes"), spec])
    assert await asyncio.wait_for(waiting, 30) is True
    assert await missing(spec, settings) == []


async def test_a_pending_migration_keeps_it_waiting(
    database: str, jetstream: JetStreamContext, nats_server: NatsServer
) -> None:
    spec = find_service("nightlogs")
    await migrate(database, [spec])
    await provision(jetstream, [find_service("programmes"), spec])
    settings = settings_of(database, nats_server.url, spec.role)
    # the code is a version ahead of the database: a migration recorded as never applied
    await _forget_last_migration(database, spec.schema)
    lacking = await missing(spec, settings)
    assert len(lacking) == 1, lacking
    assert lacking[0].startswith("migration nightlogs:"), lacking
    assert lacking[0].endswith(" not applied")
    assert await wait_until_startable(spec, settings, timeout=0.3, interval=0.1) is False


def test_the_command_exits_1_after_its_timeout_and_0_when_ready(
    database: str, nats_server: NatsServer, jetstream: JetStreamContext
) -> None:
    spec = find_service("gateway")
    env = {
        **os.environ,
        "SPICADB_ENVIRONMENT": "test",
        "SPICADB_DATABASE_URL": role_dsn(database, spec.role),
        "SPICADB_NATS_URL": nats_server.url,
    }
    command = [str(SPICADB), "wait", "gateway", "--timeout", "0.5"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert first.returncode == 1, first.stderr
    # the role refused (a fresh cluster) or, made for another test's database, the migrations missing
    assert any(
        f"gateway: waiting for {what}" in first.stderr for what in ("database: ", "schema ", "migration ")
    ), first.stderr

    asyncio.run(_install(database, nats_server.url))
    ready = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert ready.returncode == 0, ready.stderr
    assert "gateway: schema current, streams and consumers provisioned" in ready.stderr


async def _install(database: str, nats_url: str) -> None:
    await migrate(database, [find_service("gateway")])
    nc = await nats.connect(nats_url)
    try:
        await provision(nc.jetstream(), [find_service("auth"), find_service("gateway")])
    finally:
        await nc.close()


async def _forget_last_migration(database: str, schema: str) -> None:
    conn = await asyncpg.connect(database)
    try:
        await conn.execute(
            f'DELETE FROM "{schema}".schema_migrations WHERE (component, version) ='
            f' (SELECT component, version FROM "{schema}".schema_migrations'
            f" WHERE component = 'nightlogs' ORDER BY version DESC LIMIT 1)"
        )
    finally:
        await conn.close()
