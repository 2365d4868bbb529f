"""Fixtures of the schemathesis tests: the gateway's own routes on a gateway of their own (the services'
platform is test_fuzz_apis' and test_fuzz_web's, see fuzz_platform)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fuzz_support import Served, Target, admin_headers, database, install

from spicadb_kit.infra import NatsServer, PostgresCluster
from spicadb_kit.testing.services import role_dsn
from spicadb_kit.testing.tokens import TokenFactory


@pytest.fixture(scope="module")
def gateway_api(
    pg_cluster: PostgresCluster, nats_server: NatsServer, tokens: TokenFactory
) -> Iterator[Target]:
    """The gateway's own routes (sessions, whoami, the ingress check), with no service behind it."""
    from spicadb_auth.spec import SPEC as AUTH
    from spicadb_gateway.app import create_app
    from spicadb_gateway.config import GatewaySettings
    from spicadb_gateway.spec import SPEC

    with database(pg_cluster) as admin_dsn:
        install(admin_dsn, nats_server.url, SPEC, producers=(AUTH,))
        settings = GatewaySettings(
            environment="test",
            database_url=role_dsn(admin_dsn, SPEC.role),
            nats_url=nats_server.url,
            token_issuer=tokens.issuer,
            token_audience=tokens.audience,
            outbox_poll_seconds=0.2,
            rate_limit_rate=10_000.0,
            rate_limit_burst=100_000,
            ingress_auth=True,
            session_key="schemathesis-session-key-0123456789abcdef",
        )
        with Served(create_app(settings, verifier=tokens.verifier(), specs=[])) as served:
            yield Target(served.url, admin_headers(tokens))
