"""The gateway in front of real upstreams, on real TCP ports: the probe service (its own database
schema, verifying tokens itself), the echo upstream, a JWKS server with the test signing key, and the
gateway with its schema, NATS consumer and settings. One stack per test module; tests that need other
settings start a second gateway on the same database (as a second replica would run)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import nats
import pytest
from gateway_stack import Stack
from gateway_support import AUTH_STAND_IN, Echo, Jwks, LocalServer
from probe_service.app import create_app as create_probe
from probe_service.spec import SPEC as PROBE_SPEC
from spicadb_gateway.spec import SPEC as GATEWAY_SPEC

from spicadb_kit.events.provision import provision
from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.settings import ServiceSettings
from spicadb_kit.testing.plugin import delete_all_streams
from spicadb_kit.testing.services import migrate, role_dsn, service_pool
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture(scope="module")
async def stack(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> AsyncIterator[Stack]:
    name = f"gw_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(pg_cluster.dsn())
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    admin_dsn = pg_cluster.dsn(name)
    await migrate(admin_dsn, [PROBE_SPEC, GATEWAY_SPEC])
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await delete_all_streams(js)
    await provision(js, [AUTH_STAND_IN, PROBE_SPEC, GATEWAY_SPEC])
    pool = await service_pool(admin_dsn, GATEWAY_SPEC)
    jwks = await LocalServer(Jwks(tokens.jwks)).start()
    probe_settings = ServiceSettings(
        environment="test",
        database_url=role_dsn(admin_dsn, PROBE_SPEC.role),
        nats_url=nats_server.url,
        token_issuer=tokens.issuer,
        token_audience=tokens.audience,
        outbox_poll_seconds=0.2,
    )
    probe = await LocalServer(create_probe(probe_settings, verifier=tokens.verifier())).start()
    echo = Echo()
    echo_server = await LocalServer(echo).start()
    stack = Stack(admin_dsn, nats_server.url, tokens, js, nc, jwks, probe, echo, echo_server, pool)
    stack.gateway = await stack.start_gateway()
    try:
        yield stack
    finally:
        for server in stack.extra_gateways:
            await server.stop()
        for server in (echo_server, probe, jwks):
            await server.stop()
        await pool.close()
        await nc.close()
        admin = await asyncpg.connect(pg_cluster.dsn())
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
